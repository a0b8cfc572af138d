/**
 * The trainer ↔ extension channel: JSON-RPC (vscode-jsonrpc) over the Node IPC channel of a
 * forked trainer. Requests flow extension → trainer; notifications `run/did…` flow back.
 */
import type { ConfigSetting } from './configPatch';
import { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';
import type {
  BackendChoice,
  BackendName,
  HealthAlert,
  LiveHyperparameters,
  HistogramRecord,
  ImageSamples,
  MetricsRecord,
  PointSamples,
  RunStatus,
} from './runDirectory';

export interface StartRunParams {
  /** Absolute path of the `*.gan.json` file (optional for forks: the parent's config is used). */
  configPath?: string;
  /** Folder that holds run directories. */
  runsDir: string;
  backend: BackendChoice;
  steps?: number;
  seed?: number;
  /** Continue this run directory from its last checkpoint instead of starting a new one. */
  resumeFrom?: string;
  /** Start a new run from this run's checkpoint at `forkStep` (else its newest). */
  forkFrom?: string;
  forkStep?: number;
  /** Config fields changed for this run only (the config file is not touched). */
  settings?: ConfigSetting[];
}

export interface StartRunResult {
  runId: string;
  runDir: string;
  backend: BackendName;
  backendReason: string;
  totalSteps: number;
  startStep: number;
}

export interface RunEndedParams {
  runId: string;
  status: Exclude<RunStatus, 'running'>;
  step: number;
  error: string | null;
}

export const startRunRequest = new RequestType<StartRunParams, StartRunResult, void>('run/start');
/** Asks the trainer to stop after the current step; it writes a checkpoint and exits. */
export const stopRunRequest = new RequestType0<void, void>('run/stop');

export const didLogMetrics = new NotificationType<{ runId: string; record: MetricsRecord }>('run/didLogMetrics');
export const didLogHistogram = new NotificationType<{ runId: string; record: HistogramRecord }>('run/didLogHistogram');
export const didWriteSamples = new NotificationType<{ runId: string; samples: PointSamples }>('run/didWriteSamples');
export const didWriteImageSamples = new NotificationType<{ runId: string; samples: ImageSamples }>('run/didWriteImageSamples');
export const didRaiseAlert = new NotificationType<{ runId: string; alert: HealthAlert }>('run/didRaiseAlert');
export const didEndRun = new NotificationType<RunEndedParams>('run/didEnd');

/**
 * Step mode and live changes (the monitor's laboratory controls). `pause` makes the trainer wait
 * after the current step; while paused, `step` makes one update of one player (one D update, or
 * one G update; the step counter does not move); `resume` goes on; `set` changes base learning
 * rates and k from the next step, recorded in run.json and in every metrics record after it.
 */
export type ControlAction =
  { action: 'pause' } | { action: 'resume' } | { action: 'step'; player: 'discriminator' | 'generator' } | ({ action: 'set' } & LiveHyperparameters);

/** The controls as they are now. */
export interface ControlState {
  paused: boolean;
  /** Last completed step. */
  step: number;
  /** Base learning rates now (before the schedule's factor) and the rates in force at the last step. */
  generatorLearningRate: number;
  discriminatorLearningRate: number;
  generatorRateInForce: number;
  discriminatorRateInForce: number;
  dStepsPerGStep: number;
  singleDiscriminatorUpdates: number;
  singleGeneratorUpdates: number;
}

/** Answers with the state after the action; invalid values are refused with a message naming the field. */
export const controlRunRequest = new RequestType<ControlAction, ControlState, void>('run/control');
export const didChangeControls = new NotificationType<{ runId: string; state: ControlState }>('run/didChangeControls');
/**
 * A laboratory frame between the written samples (2-D runs under the extension): the samples of a
 * subset of the fixed noise with their LaboratoryFrame, sent often enough to look live, not written to disk.
 */
export const didUpdateLaboratory = new NotificationType<{ runId: string; samples: PointSamples }>('run/didUpdateLaboratory');
