/**
 * One trainer child process: fork with an IPC channel, typed JSON-RPC requests and
 * notifications, its output handed on, and a stop that escalates to killing the process group
 * when the trainer does not listen. No `vscode` here, so the process-level tests drive it as is.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter, ResponseError, type MessageConnection } from 'vscode-jsonrpc/node';
import type { HealthAlert, HistogramRecord, ImageSamples, MetricsRecord, PointSamples } from '../protocol/runDirectory';
import {
  didEndRun,
  didLogHistogram,
  didLogMetrics,
  didRaiseAlert,
  didWriteImageSamples,
  didWriteSamples,
  startRunRequest,
  stopRunRequest,
  controlRunRequest,
  didChangeControls,
  didUpdateLaboratory,
  type ControlAction,
  type ControlState,
  type RunEndedParams,
  type StartRunParams,
  type StartRunResult,
} from '../protocol/trainerRpc';

/** How long a stop may take (finish the step, checkpoint) before the process group is killed. */
export const STOP_TIMEOUT_MS = 10_000;

export class TrainerStartError extends Error {
  constructor(
    message: string,
    readonly invalidConfig: boolean,
  ) {
    super(message);
  }
}

export interface TrainerHandlers {
  output?(text: string): void;
  metrics?(record: MetricsRecord): void;
  histogram?(record: HistogramRecord): void;
  samples?(samples: PointSamples): void;
  imageSamples?(samples: ImageSamples): void;
  alert?(alert: HealthAlert): void;
  /** A live 2-D laboratory frame (not written to disk). */
  laboratory?(samples: PointSamples): void;
  controls?(state: ControlState): void;
  /** Once: the run ended; `crashed` when the process died without saying how the run ended. */
  end?(params: RunEndedParams, crashed: boolean): void;
}

export interface TrainerProcessOptions {
  script: string;
  nodePath?: string;
  env?: NodeJS.ProcessEnv;
  stopTimeoutMs?: number;
}

export class TrainerProcess {
  private readonly child: ChildProcess;
  private readonly connection: MessageConnection;
  private readonly exited: Promise<void>;
  private hasExited = false;
  private started: StartRunResult | null = null;
  private ended: RunEndedParams | null = null;
  private stopping: Promise<void> | null = null;
  /** The last step the trainer reported. */
  step = 0;
  /** The controls as the trainer last told them. */
  controls: ControlState | null = null;

  constructor(
    private readonly options: TrainerProcessOptions,
    private readonly handlers: TrainerHandlers,
  ) {
    this.child = fork(options.script, [], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execPath: options.nodePath,
      execArgv: [],
      env: options.env ?? process.env,
      // Its own process group, so a kill reaches the trainer and anything it started.
      detached: process.platform !== 'win32',
    });
    const prefix = `[trainer ${this.child.pid ?? '?'}] `;
    this.child.stdout?.on('data', (chunk: Buffer) => handlers.output?.(prefix + chunk.toString()));
    this.child.stderr?.on('data', (chunk: Buffer) => handlers.output?.(prefix + chunk.toString()));
    this.connection = createMessageConnection(new IPCMessageReader(this.child), new IPCMessageWriter(this.child));
    this.connection.onNotification(didLogMetrics, ({ record }) => {
      this.step = record.step;
      handlers.metrics?.(record);
    });
    this.connection.onNotification(didLogHistogram, ({ record }) => handlers.histogram?.(record));
    this.connection.onNotification(didWriteSamples, ({ samples }) => handlers.samples?.(samples));
    this.connection.onNotification(didWriteImageSamples, ({ samples }) => handlers.imageSamples?.(samples));
    this.connection.onNotification(didRaiseAlert, ({ alert }) => handlers.alert?.(alert));
    this.connection.onNotification(didUpdateLaboratory, ({ samples }) => handlers.laboratory?.(samples));
    this.connection.onNotification(didChangeControls, ({ state }) => {
      this.controls = state;
      handlers.controls?.(state);
    });
    this.connection.onNotification(didEndRun, (params) => this.end(params, false));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.hasExited = true;
        const how = signal ? `signal ${signal}` : `code ${code}`;
        handlers.output?.(`${prefix}exited with ${how}\n`);
        this.end({ runId: this.started?.runId ?? '', status: 'failed', step: this.step, error: `the trainer process exited unexpectedly (${how})` }, true);
        this.connection.dispose();
        resolve();
      }),
    );
    this.connection.listen();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get run(): StartRunResult | null {
    return this.started;
  }

  get endedWith(): RunEndedParams | null {
    return this.ended;
  }

  /** A stop was asked for: an exit that follows is not a crash to recover from. */
  get stopRequested(): boolean {
    return this.stopping !== null;
  }

  get isRunning(): boolean {
    return !this.hasExited && this.ended === null;
  }

  private end(params: RunEndedParams, crashed: boolean): void {
    if (this.ended) return;
    this.ended = params;
    this.handlers.end?.(params, crashed);
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

  /**
   * Asks for a clean stop (checkpoint, status `stopped`) and resolves when the process is gone;
   * kills the process group if it is not gone within the timeout. Calling it again is harmless.
   */
  stop(): Promise<void> {
    if (this.hasExited) return Promise.resolve();
    this.stopping ??= (async () => {
      const timer = setTimeout(() => this.kill(), this.options.stopTimeoutMs ?? STOP_TIMEOUT_MS);
      this.connection.sendRequest(stopRunRequest).catch(() => this.kill());
      await this.exited;
      clearTimeout(timer);
    })();
    return this.stopping;
  }

  /** Step mode and live changes; rejects with the trainer's reason when it refuses. */
  async control(action: ControlAction): Promise<ControlState> {
    if (!this.isRunning) throw new Error('the run has ended');
    try {
      return await this.connection.sendRequest(controlRunRequest, action);
    } catch (error) {
      throw new Error(error instanceof Error ? error.message : String(error));
    }
  }

  /** Kills the trainer's process group at once. */
  kill(): void {
    if (this.hasExited || this.child.pid === undefined) return;
    try {
      process.kill(process.platform === 'win32' ? this.child.pid : -this.child.pid, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }
}
