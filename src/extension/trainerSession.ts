/**
 * One trainer child process and its run: fork with an IPC channel, typed JSON-RPC requests and
 * notifications, stdout/stderr into the Output channel, and a stop that escalates to a kill when
 * the trainer does not listen.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as vscode from 'vscode';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter, ResponseError, type MessageConnection } from 'vscode-jsonrpc/node';
import type { HistogramRecord, MetricsRecord, PointSamples, RunStatus } from '../protocol/runDirectory';
import {
  didEndRun,
  didLogHistogram,
  didLogMetrics,
  didWriteSamples,
  startRunRequest,
  stopRunRequest,
  type RunEndedParams,
  type StartRunParams,
  type StartRunResult,
} from '../protocol/trainerRpc';

/** How long a stop request may take (finish the step, checkpoint) before the process is killed. */
const STOP_TIMEOUT_MS = 10_000;

export class TrainerStartError extends Error {
  constructor(
    message: string,
    readonly invalidConfig: boolean,
  ) {
    super(message);
  }
}

export class TrainerSession implements vscode.Disposable {
  private readonly child: ChildProcess;
  private readonly connection: MessageConnection;
  private readonly disposables: vscode.Disposable[] = [];
  private exited = false;
  private started: StartRunResult | null = null;
  private ended: RunEndedParams | null = null;

  readonly onDidLogMetrics: vscode.Event<MetricsRecord>;
  readonly onDidLogHistogram: vscode.Event<HistogramRecord>;
  readonly onDidWriteSamples: vscode.Event<PointSamples>;
  /** Fires once, when the run has ended (or the process died without saying so). */
  readonly onDidEnd: vscode.Event<RunEndedParams>;
  private readonly metricsEmitter = new vscode.EventEmitter<MetricsRecord>();
  private readonly histogramEmitter = new vscode.EventEmitter<HistogramRecord>();
  private readonly samplesEmitter = new vscode.EventEmitter<PointSamples>();
  private readonly endEmitter = new vscode.EventEmitter<RunEndedParams>();
  lastMetrics: MetricsRecord | null = null;
  step = 0;

  constructor(trainerScript: string, output: vscode.OutputChannel, nodePath: string | undefined) {
    this.child = fork(trainerScript, [], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execPath: nodePath,
      execArgv: [],
      // Its own process group, so a stop can kill the trainer and anything it started.
      detached: process.platform !== 'win32',
    });
    const prefix = `[trainer ${this.child.pid ?? '?'}] `;
    this.child.stdout?.on('data', (chunk: Buffer) => output.append(prefix + chunk.toString()));
    this.child.stderr?.on('data', (chunk: Buffer) => output.append(prefix + chunk.toString()));
    this.connection = createMessageConnection(new IPCMessageReader(this.child), new IPCMessageWriter(this.child));
    this.onDidLogMetrics = this.metricsEmitter.event;
    this.onDidLogHistogram = this.histogramEmitter.event;
    this.onDidWriteSamples = this.samplesEmitter.event;
    this.onDidEnd = this.endEmitter.event;
    this.disposables.push(this.metricsEmitter, this.histogramEmitter, this.samplesEmitter, this.endEmitter);
    this.connection.onNotification(didLogMetrics, ({ record }) => {
      this.lastMetrics = record;
      this.step = record.step;
      this.metricsEmitter.fire(record);
    });
    this.connection.onNotification(didLogHistogram, ({ record }) => this.histogramEmitter.fire(record));
    this.connection.onNotification(didWriteSamples, ({ samples }) => this.samplesEmitter.fire(samples));
    this.connection.onNotification(didEndRun, (params) => this.end(params));
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      output.appendLine(`${prefix}exited with ${signal ? `signal ${signal}` : `code ${code}`}`);
      this.end({
        runId: this.started?.runId ?? '',
        status: 'failed',
        step: this.step,
        error: `the trainer process exited unexpectedly (${signal ? `signal ${signal}` : `code ${code}`}); see the GAN Workbench output`,
      });
      this.connection.dispose();
    });
    this.connection.listen();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get run(): StartRunResult | null {
    return this.started;
  }

  get status(): RunStatus {
    return this.ended?.status ?? 'running';
  }

  get error(): string | null {
    return this.ended?.error ?? null;
  }

  private end(params: RunEndedParams): void {
    if (this.ended) return;
    this.ended = params;
    this.endEmitter.fire(params);
  }

  /** Starts the run; resolves once the trainer has created the run directory. */
  async start(params: StartRunParams): Promise<StartRunResult> {
    try {
      this.started = await this.connection.sendRequest(startRunRequest, params);
      this.step = this.started.startStep;
      return this.started;
    } catch (error) {
      this.kill();
      if (error instanceof ResponseError) throw new TrainerStartError(error.message, error.code === -32001);
      throw new TrainerStartError(error instanceof Error ? error.message : String(error), false);
    }
  }

  /** Asks for a clean stop (checkpoint, status `stopped`); kills the process tree if it hangs. */
  async stop(): Promise<void> {
    if (this.exited || this.ended) return;
    const timer = setTimeout(() => this.kill(), STOP_TIMEOUT_MS);
    try {
      await this.connection.sendRequest(stopRunRequest);
    } catch {
      this.kill();
    }
    await new Promise<void>((resolve) => {
      if (this.exited) resolve();
      else this.child.once('exit', () => resolve());
    });
    clearTimeout(timer);
  }

  /** Kills the trainer's process group. */
  kill(): void {
    if (this.exited || this.child.pid === undefined) return;
    try {
      process.kill(process.platform === 'win32' ? this.child.pid : -this.child.pid, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }

  dispose(): void {
    // Closing the window ends the run cleanly when possible; the trainer also notices on its own.
    if (!this.exited) void this.stop();
    vscode.Disposable.from(...this.disposables).dispose();
  }
}
