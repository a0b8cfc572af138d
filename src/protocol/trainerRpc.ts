/**
 * The trainer ↔ extension channel: JSON-RPC (vscode-jsonrpc) over the Node IPC channel of a
 * forked trainer. Requests flow extension → trainer; notifications `run/did…` flow back.
 */
import type { ConfigSetting } from './configPatch';
import { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';
import type { BackendChoice, BackendName, HealthAlert, HistogramRecord, ImageSamples, MetricsRecord, PointSamples, RunStatus } from './runDirectory';

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
