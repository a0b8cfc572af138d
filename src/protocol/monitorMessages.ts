/**
 * The run monitor webview's contract: every message between the extension host and the monitor
 * panel is declared here, and both sides import these types.
 */
import type { CostType } from './config';
import type { ControlAction, ControlState } from './trainerRpc';
import type { OptionalMetricKey } from './optionalMetrics';
import type { BackendName, HealthAlert, HistogramRecord, ImageSamples, MetricsRecord, PointSamples, RunStatus } from './runDirectory';

export interface MonitorRunSummary {
  runId: string;
  name: string;
  status: RunStatus;
  backend: BackendName | null;
  step: number;
  totalSteps: number;
  error: string | null;
  /** Dimension of one data sample; 2 means the monitor draws a scatter. */
  dataDimension: number;
  /** Health alerts raised so far (absent: none). */
  alerts?: HealthAlert[];
}

/**
 * The older metrics records of a long run, column by column: a million records as objects would
 * be ~170 MB of JSON, as Float64Arrays they are 8 MB a column, which VS Code's postMessage
 * transfers as binary. Only what the monitor draws; every column has `step.length` entries.
 */
export interface MetricsHistory {
  step: Float64Array;
  /** NaN where the record had none (JSON writes a diverged NaN as null). */
  dLoss: Float64Array;
  gLoss: Float64Array;
  dReal: Float64Array;
  dFake: Float64Array;
  /** The optional metrics any of these records has, NaN where a record has none. */
  optional: Partial<Record<OptionalMetricKey, Float64Array>>;
  /** The newest `evaluationFeatures` among these records. */
  evaluationFeatures: MetricsRecord['evaluationFeatures'] | null;
}

/** Records a snapshot sends whole (the newest); older ones go in `history`. */
export const SNAPSHOT_TAIL = 1000;

/** Everything the panel needs to draw a run from scratch (after open, reveal or reload). */
export interface MonitorSnapshot {
  run: MonitorRunSummary;
  /** The newest records (at most SNAPSHOT_TAIL from the host; all of a short run), oldest first. */
  metrics: MetricsRecord[];
  /** The records before `metrics`, as columns (absent: there are none). */
  history?: MetricsHistory;
  latestHistogram: HistogramRecord | null;
  latestSamples: PointSamples | null;
  /** A fixed sample of the real data, for 2-D runs. */
  realPoints: number[][] | null;
  /** Image GANs: the steps that have a sample grid, oldest first. */
  imageSteps: number[];
  /** Image GANs: the newest sample grid. */
  latestImage: ImageSamples | null;
  /** Image GANs: a grid of real images (`data:image/png;base64,…`). */
  realImage: string | null;
  /**
   * The run's `training.cost.type` (config.json), which says what D(x) and D(G(z)) mean and which
   * optional metrics to expect; null when the config cannot be read.
   */
  cost: CostType | null;
}

export type HostToMonitorMessage =
  /** The panel must keep `state` with `setState`, so a window reload can restore it. */
  | { type: 'monitor/didLoad'; snapshot: MonitorSnapshot; state: MonitorPanelState }
  | { type: 'monitor/didAppendMetrics'; records: MetricsRecord[] }
  | { type: 'monitor/didUpdateHistogram'; record: HistogramRecord }
  | { type: 'monitor/didUpdateSamples'; samples: PointSamples }
  /** A new sample grid was written (the newest). */
  | { type: 'monitor/didUpdateImage'; samples: ImageSamples }
  /** The grid of an older step, as asked for by `monitor/requestImage`. */
  | { type: 'monitor/didLoadImage'; samples: ImageSamples }
  | { type: 'monitor/didUpdateRun'; run: MonitorRunSummary }
  /**
   * The laboratory's controls: the trainer's state, or null with the reason they cannot be used
   * (a run started from a terminal or another window, or one that has ended).
   */
  | { type: 'monitor/didUpdateControls'; controls: ControlState | null; reason: string };

export type MonitorToHostMessage =
  /** The panel's script has loaded and listens; the host sends nothing before this. */
  | { type: 'monitor/ready' }
  | { type: 'monitor/stopRun' }
  /** The step slider moved: send the sample grid of this step. */
  | { type: 'monitor/requestImage'; step: number }
  /** Step mode and live changes, for this window's own trainer of the run. */
  | { type: 'monitor/control'; action: ControlAction };

/** What the panel persists with `setState` so a reload restores the right run. */
export interface MonitorPanelState {
  runDir: string;
}

export function isMonitorToHostMessage(value: unknown): value is MonitorToHostMessage {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const type = Object.prototype.hasOwnProperty.call(value, 'type') ? (value as { type?: unknown }).type : undefined;
  if (type === 'monitor/ready' || type === 'monitor/stopRun') return true;
  if (type === 'monitor/control')
    return isControlAction(Object.prototype.hasOwnProperty.call(value, 'action') ? (value as { action?: unknown }).action : undefined);
  if (type !== 'monitor/requestImage') return false;
  const step = Object.prototype.hasOwnProperty.call(value, 'step') ? (value as { step?: unknown }).step : undefined;
  return typeof step === 'number' && Number.isSafeInteger(step) && step >= 0;
}

/** Largest k the controls accept (more D updates per G update than this is a typo). */
export const MAX_LIVE_D_STEPS = 100;

/** Why a live hyperparameter value is refused, or null when it is fine. */
export function liveValueProblem(field: 'generatorLearningRate' | 'discriminatorLearningRate' | 'dStepsPerGStep', value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return `${field} must be a finite number`;
  if (field === 'dStepsPerGStep') {
    return Number.isInteger(value) && value >= 1 && value <= MAX_LIVE_D_STEPS ? null : `dStepsPerGStep must be a whole number from 1 to ${MAX_LIVE_D_STEPS}`;
  }
  return value > 0 && value <= 1 ? null : `${field} must be more than 0 and at most 1`;
}

/** A well-formed control action with values in range (the webview's, and the trainer's check of the request). */
export function isControlAction(action: unknown): action is ControlAction {
  if (action === null || typeof action !== 'object' || Array.isArray(action)) return false;
  const record = action as Record<string, unknown>;
  switch (record.action) {
    case 'pause':
    case 'resume':
      return Object.keys(record).length === 1;
    case 'step':
      return Object.keys(record).length === 2 && (record.player === 'discriminator' || record.player === 'generator');
    case 'set': {
      const fields = Object.keys(record).filter((key) => key !== 'action');
      const allowed = ['generatorLearningRate', 'discriminatorLearningRate', 'dStepsPerGStep'] as const;
      return (
        fields.length > 0 &&
        fields.every((key) => (allowed as readonly string[]).includes(key)) &&
        allowed.every((key) => !(key in record) || liveValueProblem(key, record[key]) === null)
      );
    }
    default:
      return false;
  }
}

/** What a monitor panel may do on its webview's behalf: nothing else. */
export interface MonitorActions {
  ready(): void;
  stopRun(): void;
  requestImage(step: number): void;
  control(action: ControlAction): void;
}

/**
 * Routes a message from the (untrusted) webview to the allowed actions; anything that is not a
 * declared message is dropped. Returns whether an action ran.
 */
export function dispatchMonitorMessage(message: unknown, actions: MonitorActions): boolean {
  if (!isMonitorToHostMessage(message)) return false;
  switch (message.type) {
    case 'monitor/ready':
      actions.ready();
      return true;
    case 'monitor/stopRun':
      actions.stopRun();
      return true;
    case 'monitor/requestImage':
      actions.requestImage(message.step);
      return true;
    case 'monitor/control':
      actions.control(message.action);
      return true;
  }
}
