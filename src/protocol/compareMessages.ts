/**
 * The compare tab's contract: every message between the extension host and the compare webview.
 * The webview never names a file: it refers to runs by their index in the panel's own list.
 */
import type { MetricsRecord, PointSamples, RunStatus } from './runDirectory';

export interface CompareRun {
  runId: string;
  name: string;
  status: RunStatus;
  step: number;
  totalSteps: number;
  /** Index (in this panel's list) of the run this one was forked from, when it is shown too. */
  parentIndex: number | null;
  /** The parent run's id and the step the fork started from. */
  parentId: string | null;
  parentStep: number | null;
  /** The config fields people compare, flattened (`generator.optimizer.learningRate` → value). */
  params: Record<string, string | number | boolean>;
  metrics: MetricsRecord[];
  /** Steps with point samples (2-D and tabular data). */
  sampleSteps: number[];
  dataDimension: number;
}

export interface CompareSamples {
  runIndex: number;
  /** The sample step shown: the newest at or before the requested step. */
  step: number | null;
  samples: PointSamples | null;
  /** An image sample grid (image data) as a `data:image/png` URI, when that is what the run wrote. */
  image: string | null;
}

export interface ComparePanelState {
  runDirs: string[];
}

export type HostToCompareMessage =
  | { type: 'compare/didLoad'; runs: CompareRun[]; realPoints: number[][] | null; state: ComparePanelState }
  | { type: 'compare/didUpdateRun'; runIndex: number; run: CompareRun }
  | { type: 'compare/didLoadSamples'; step: number; samples: CompareSamples[] };

export type CompareToHostMessage =
  | { type: 'compare/ready' }
  | { type: 'compare/requestSamples'; step: number }
  | { type: 'compare/diffConfigs'; baseIndex: number; otherIndex: number }
  | { type: 'compare/openMonitor'; runIndex: number };

export interface CompareActions {
  ready(): void;
  requestSamples(step: number): void;
  diffConfigs(baseIndex: number, otherIndex: number): void;
  openMonitor(runIndex: number): void;
}

const isIndex = (value: unknown, count: number): value is number => Number.isInteger(value) && (value as number) >= 0 && (value as number) < count;

/**
 * Routes a message from the (untrusted) webview to the allowed actions; anything malformed, or a
 * run index outside the panel's list, is dropped. Returns whether an action ran.
 */
export function dispatchCompareMessage(message: unknown, runCount: number, actions: CompareActions): boolean {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return false;
  const own = (key: string): unknown => (Object.prototype.hasOwnProperty.call(message, key) ? (message as Record<string, unknown>)[key] : undefined);
  switch (own('type')) {
    case 'compare/ready':
      actions.ready();
      return true;
    case 'compare/requestSamples': {
      const step = own('step');
      if (!Number.isInteger(step) || (step as number) < 0) return false;
      actions.requestSamples(step as number);
      return true;
    }
    case 'compare/diffConfigs': {
      const base = own('baseIndex');
      const other = own('otherIndex');
      if (!isIndex(base, runCount) || !isIndex(other, runCount)) return false;
      actions.diffConfigs(base, other);
      return true;
    }
    case 'compare/openMonitor': {
      const index = own('runIndex');
      if (!isIndex(index, runCount)) return false;
      actions.openMonitor(index);
      return true;
    }
    default:
      return false;
  }
}
