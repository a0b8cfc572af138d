/** A trainer process seen from VS Code: its events as `vscode.Event`s, its output in the Output channel. */
import * as vscode from 'vscode';
import type { HealthAlert, HistogramRecord, ImageSamples, MetricsRecord, PointSamples, RunStatus } from '../protocol/runDirectory';
import type { ControlAction, ControlState, RunEndedParams, StartRunParams, StartRunResult } from '../protocol/trainerRpc';
import { TrainerProcess } from './trainerProcess';

export { TrainerStartError } from './trainerProcess';

export interface SessionEnd extends RunEndedParams {
  /** The process died without saying how the run ended (a crash or a kill). */
  crashed: boolean;
  /** Someone asked the run to stop (so a kill that followed is no crash). */
  stopRequested: boolean;
}

export class TrainerSession implements vscode.Disposable {
  private readonly process: TrainerProcess;
  private readonly metricsEmitter = new vscode.EventEmitter<MetricsRecord>();
  private readonly histogramEmitter = new vscode.EventEmitter<HistogramRecord>();
  private readonly samplesEmitter = new vscode.EventEmitter<PointSamples>();
  private readonly imageSamplesEmitter = new vscode.EventEmitter<ImageSamples>();
  private readonly alertEmitter = new vscode.EventEmitter<HealthAlert>();
  private readonly endEmitter = new vscode.EventEmitter<SessionEnd>();
  private readonly laboratoryEmitter = new vscode.EventEmitter<PointSamples>();
  private readonly controlsEmitter = new vscode.EventEmitter<ControlState>();
  /** A live 2-D laboratory frame between the written samples. */
  readonly onDidUpdateLaboratory = this.laboratoryEmitter.event;
  /** The trainer's controls changed (paused, a single update, new rates or k). */
  readonly onDidChangeControls = this.controlsEmitter.event;
  readonly onDidLogMetrics = this.metricsEmitter.event;
  readonly onDidLogHistogram = this.histogramEmitter.event;
  readonly onDidWriteSamples = this.samplesEmitter.event;
  readonly onDidWriteImageSamples = this.imageSamplesEmitter.event;
  /** A health alert was raised (once per kind and run). */
  readonly onDidRaiseAlert = this.alertEmitter.event;
  /** Fires once, when the run has ended (or the process died without saying so). */
  readonly onDidEnd = this.endEmitter.event;
  lastMetrics: MetricsRecord | null = null;

  constructor(trainerScript: string, output: vscode.OutputChannel, nodePath: string | undefined, env?: NodeJS.ProcessEnv) {
    this.process = new TrainerProcess(
      { script: trainerScript, nodePath, env },
      {
        output: (text) => output.append(text),
        metrics: (record) => {
          this.lastMetrics = record;
          this.metricsEmitter.fire(record);
        },
        histogram: (record) => this.histogramEmitter.fire(record),
        samples: (samples) => this.samplesEmitter.fire(samples),
        imageSamples: (samples) => this.imageSamplesEmitter.fire(samples),
        alert: (alert) => this.alertEmitter.fire(alert),
        laboratory: (samples) => this.laboratoryEmitter.fire(samples),
        controls: (state) => this.controlsEmitter.fire(state),
        end: (params, crashed) => this.endEmitter.fire({ ...params, crashed, stopRequested: this.process.stopRequested }),
      },
    );
  }

  get run(): StartRunResult | null {
    return this.process.run;
  }

  get step(): number {
    return this.process.step;
  }

  get status(): RunStatus {
    return this.process.endedWith?.status ?? 'running';
  }

  get error(): string | null {
    return this.process.endedWith?.error ?? null;
  }

  start(params: StartRunParams): Promise<StartRunResult> {
    return this.process.start(params);
  }

  stop(): Promise<void> {
    return this.process.stop();
  }

  /** The controls as the trainer last told them (null before it did, or for an ended run). */
  get controls(): ControlState | null {
    return this.status === 'running' ? this.process.controls : null;
  }

  control(action: ControlAction): Promise<ControlState> {
    return this.process.control(action);
  }

  dispose(): void {
    // Closing the window ends the run cleanly when possible; the trainer also notices on its own.
    void this.process.stop();
    vscode.Disposable.from(
      this.metricsEmitter,
      this.histogramEmitter,
      this.samplesEmitter,
      this.imageSamplesEmitter,
      this.laboratoryEmitter,
      this.controlsEmitter,
      this.alertEmitter,
      this.endEmitter,
    ).dispose();
  }
}
