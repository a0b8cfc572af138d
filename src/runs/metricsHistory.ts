/**
 * Reads metrics.jsonl for the monitor's snapshot without keeping a million records as objects:
 * lines are parsed as they stream in, the newest SNAPSHOT_TAIL stay whole, the older ones go into
 * Float64Array columns (MetricsHistory). Node-only.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { SNAPSHOT_TAIL, type MetricsHistory } from '../protocol/monitorMessages';
import { OPTIONAL_METRICS, optionalValue, type OptionalMetricKey } from '../protocol/optionalMetrics';
import type { MetricsRecord } from '../protocol/runDirectory';
import { RUN_FILES } from '../protocol/runDirectory';

const CORE = ['step', 'dLoss', 'gLoss', 'dReal', 'dFake'] as const;

const number = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : NaN);

/** Collects records into columns, growing them by doubling. */
export class MetricsHistoryBuilder {
  private length = 0;
  private capacity = 1024;
  private readonly core = Object.fromEntries(CORE.map((key) => [key, new Float64Array(this.capacity)])) as Record<(typeof CORE)[number], Float64Array>;
  private readonly optional = new Map<OptionalMetricKey, Float64Array>();
  private evaluationFeatures: MetricsRecord['evaluationFeatures'] | null = null;

  get count(): number {
    return this.length;
  }

  push(record: MetricsRecord): void {
    if (this.length === this.capacity) this.grow();
    const i = this.length++;
    for (const key of CORE) this.core[key][i] = number(record[key]);
    for (const metric of OPTIONAL_METRICS) {
      const value = optionalValue(record, metric.key);
      let column = this.optional.get(metric.key);
      if (value === null) {
        if (column) column[i] = NaN;
        continue;
      }
      if (!column) {
        column = new Float64Array(this.capacity).fill(NaN);
        this.optional.set(metric.key, column);
      }
      column[i] = value;
    }
    if (record.evaluationFeatures) this.evaluationFeatures = record.evaluationFeatures;
  }

  private grow(): void {
    this.capacity *= 2;
    const bigger = (column: Float64Array) => {
      const next = new Float64Array(this.capacity).fill(NaN, column.length);
      next.set(column);
      return next;
    };
    for (const key of CORE) this.core[key] = bigger(this.core[key]);
    for (const [key, column] of this.optional) this.optional.set(key, bigger(column));
  }

  /** The columns, trimmed to the records pushed (copies: the buffers are exactly the data). */
  build(): MetricsHistory {
    const trim = (column: Float64Array) => column.slice(0, this.length);
    return {
      step: trim(this.core.step),
      dLoss: trim(this.core.dLoss),
      gLoss: trim(this.core.gLoss),
      dReal: trim(this.core.dReal),
      dFake: trim(this.core.dFake),
      optional: Object.fromEntries([...this.optional].map(([key, column]) => [key, trim(column)])),
      evaluationFeatures: this.evaluationFeatures,
    };
  }
}

/**
 * The run's metrics as a snapshot sends them: the newest `tail` records whole, the older ones as
 * columns (none when the run has at most `tail` records). Like readMetrics, a torn last line and
 * lines that are not JSON are skipped.
 */
export async function readSnapshotMetrics(runDir: string, tail = SNAPSHOT_TAIL): Promise<{ metrics: MetricsRecord[]; history?: MetricsHistory }> {
  const ring: MetricsRecord[] = [];
  let ringStart = 0;
  const history = new MetricsHistoryBuilder();
  const take = (line: string) => {
    if (line.trim() === '') return;
    let record: MetricsRecord;
    try {
      record = JSON.parse(line) as MetricsRecord;
    } catch {
      return;
    }
    if (record === null || typeof record !== 'object') return;
    if (ring.length < tail) {
      ring.push(record);
      return;
    }
    // The oldest of the tail moves into the columns.
    history.push(ring[ringStart]);
    ring[ringStart] = record;
    ringStart = (ringStart + 1) % tail;
  };
  try {
    let rest = '';
    for await (const chunk of createReadStream(path.join(runDir, RUN_FILES.metrics), { encoding: 'utf8', highWaterMark: 1 << 20 })) {
      const text = rest + (chunk as string);
      let start = 0;
      for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
        take(text.slice(start, end));
        start = end + 1;
      }
      rest = text.slice(start);
    }
    // An unterminated last line may be mid-append: left for the follower.
  } catch {
    // No metrics file (yet), or unreadable: no records, as readMetrics.
  }
  const metrics = [...ring.slice(ringStart), ...ring.slice(0, ringStart)];
  return history.count ? { metrics, history: history.build() } : { metrics };
}
