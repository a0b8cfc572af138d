/**
 * The monitor's metric series: growable Float64Array columns (x = step, NaN = no value) with a
 * min/max summary kept as records arrive, so a chart of a million points draws from about two
 * points per pixel, never dropping an extreme (a spike) or a gap (a NaN divergence), and always
 * ending on the newest record. Pure logic: no DOM, no uPlot (the charts take its columns as they are).
 */

/** uPlot's aligned columns: x first, then one column per series (null: no point there). */
export type ChartColumns = [number[], ...(number | null)[][]];

/** The summary's most buckets (the finest it keeps); a view merges them down to the chart's width. */
export const MAX_BUCKETS = 4096;

/** Growable Float64Array. */
class Column {
  data: Float64Array;
  constructor(capacity: number, fill = false) {
    this.data = new Float64Array(capacity);
    if (fill) this.data.fill(NaN);
  }
  grow(capacity: number): void {
    if (capacity <= this.data.length) return;
    const next = new Float64Array(Math.max(capacity, Math.ceil(this.data.length * 1.5)));
    next.set(this.data);
    next.fill(NaN, this.data.length);
    this.data = next;
  }
}

/** Per bucket of `size` consecutive records: each column's min and max and where they are, and a gap. */
class Buckets {
  min: Float64Array;
  max: Float64Array;
  minAt: Float64Array;
  maxAt: Float64Array;
  /** The first index in the bucket whose value is NaN, or -1. */
  gapAt: Float64Array;
  constructor() {
    this.min = new Float64Array(MAX_BUCKETS);
    this.max = new Float64Array(MAX_BUCKETS);
    this.minAt = new Float64Array(MAX_BUCKETS);
    this.maxAt = new Float64Array(MAX_BUCKETS);
    this.gapAt = new Float64Array(MAX_BUCKETS);
  }
  /** Starts bucket b with the value at index i. */
  start(b: number, i: number, v: number): void {
    this.min[b] = this.max[b] = v;
    this.minAt[b] = this.maxAt[b] = Number.isNaN(v) ? -1 : i;
    this.gapAt[b] = Number.isNaN(v) ? i : -1;
  }
  /** Adds the value at index i to bucket b. */
  add(b: number, i: number, v: number): void {
    if (Number.isNaN(v)) {
      if (this.gapAt[b] < 0) this.gapAt[b] = i;
      return;
    }
    if (this.minAt[b] < 0) {
      this.min[b] = this.max[b] = v;
      this.minAt[b] = this.maxAt[b] = i;
      return;
    }
    if (v < this.min[b]) {
      this.min[b] = v;
      this.minAt[b] = i;
    }
    if (v > this.max[b]) {
      this.max[b] = v;
      this.maxAt[b] = i;
    }
  }
  /** Merges bucket `from` into bucket `into` (the later one into the earlier). */
  merge(into: number, from: number): void {
    if (this.minAt[from] >= 0) {
      if (this.minAt[into] < 0 || this.min[from] < this.min[into]) {
        this.min[into] = this.min[from];
        this.minAt[into] = this.minAt[from];
      }
      if (this.maxAt[into] < 0 || this.max[from] > this.max[into]) {
        this.max[into] = this.max[from];
        this.maxAt[into] = this.maxAt[from];
      }
    }
    if (this.gapAt[into] < 0) this.gapAt[into] = this.gapAt[from];
  }
  copy(to: number, from: number): void {
    this.min[to] = this.min[from];
    this.max[to] = this.max[from];
    this.minAt[to] = this.minAt[from];
    this.maxAt[to] = this.maxAt[from];
    this.gapAt[to] = this.gapAt[from];
  }
}

/**
 * Columns keyed by K over one x column. Records are appended in x order; a column first seen
 * after some records has NaN for them. `columns(keys, width)` gives the chart's data.
 */
export class SeriesStore<K extends string = string> {
  private xs = new Column(1024);
  private readonly cols = new Map<K, { values: Column; buckets: Buckets }>();
  private count = 0;
  /** Records per bucket: a power of two, doubled when the buckets would pass MAX_BUCKETS. */
  private bucketSize = 1;

  get length(): number {
    return this.count;
  }

  /** Has any record had a value for this column (the column exists)? */
  has(key: K): boolean {
    return this.cols.has(key);
  }

  /** The columns by key: `values.has(key)` says whether any record had a value for it. */
  get values(): ReadonlyMap<K, unknown> {
    return this.cols;
  }

  keys(): K[] {
    return [...this.cols.keys()];
  }

  /** The newest x, or undefined when empty. */
  lastX(): number | undefined {
    return this.count ? this.xs.data[this.count - 1] : undefined;
  }

  x(i: number): number {
    return this.xs.data[i];
  }

  value(key: K, i: number): number {
    return this.cols.get(key)?.values.data[i] ?? NaN;
  }

  /** The raw x column (a view of the first `length` entries). */
  xColumn(): Float64Array {
    return this.xs.data.subarray(0, this.count);
  }

  /** The raw column of a key (NaN where it has no value), or null. */
  column(key: K): Float64Array | null {
    return this.cols.get(key)?.values.data.subarray(0, this.count) ?? null;
  }

  /** Adds a column (NaN for the records so far) unless it exists. */
  addColumn(key: K): void {
    if (this.cols.has(key)) return;
    const values = new Column(this.xs.data.length, true);
    const buckets = new Buckets();
    this.cols.set(key, { values, buckets });
    const used = this.bucketCount();
    for (let b = 0; b < used; b++) buckets.start(b, b * this.bucketSize, NaN);
  }

  /** Appends one record: x and the value of each column (absent or non-finite: NaN). */
  append(x: number, values: Partial<Record<K, number | null | undefined>>): void {
    for (const key of Object.keys(values) as K[]) {
      const v = values[key];
      if (typeof v === 'number' && Number.isFinite(v)) this.addColumn(key);
    }
    this.reserve(this.count + 1);
    const i = this.count;
    this.xs.data[i] = x;
    for (const [key, col] of this.cols) {
      const v = values[key];
      col.values.data[i] = typeof v === 'number' && Number.isFinite(v) ? v : NaN;
    }
    this.count++;
    this.summarize(i, i + 1);
  }

  /**
   * Appends many records at once, column by column (a snapshot's history): `x` ascending, each
   * column as long as `x` (NaN: no value; a column that is all NaN is not added).
   */
  appendColumns(x: ArrayLike<number>, columns: Partial<Record<K, ArrayLike<number>>>): void {
    const n = x.length;
    if (n === 0) return;
    for (const key of Object.keys(columns) as K[]) {
      const column = columns[key];
      if (column && hasValue(column)) this.addColumn(key);
    }
    // With room for the live records that follow (a history is the bulk of a long run).
    this.reserve(this.count + n + Math.max(1024, n >> 3));
    const from = this.count;
    this.xs.data.set(x, from);
    for (const [key, col] of this.cols) {
      const column = columns[key];
      const target = col.values.data;
      if (!column) target.fill(NaN, from, from + n);
      else for (let j = 0; j < n; j++) target[from + j] = Number.isFinite(column[j]) ? column[j] : NaN;
    }
    this.count += n;
    this.summarize(from, this.count);
  }

  private reserve(capacity: number): void {
    if (capacity <= this.xs.data.length) return;
    this.xs.grow(capacity);
    for (const col of this.cols.values()) col.values.grow(this.xs.data.length);
  }

  /** Buckets in use (all records are summarized between calls). */
  private bucketCount(): number {
    return Math.ceil(this.count / this.bucketSize);
  }

  /** Brings the buckets up to date with records [from, to). */
  private summarize(from: number, to: number): void {
    while (Math.ceil(to / this.bucketSize) > MAX_BUCKETS) this.coarsen(Math.ceil(from / this.bucketSize));
    const size = this.bucketSize;
    for (const col of this.cols.values()) {
      const { buckets } = col;
      const data = col.values.data;
      for (let i = from; i < to; i++) {
        const b = Math.floor(i / size);
        if (i % size === 0) buckets.start(b, i, data[i]);
        else buckets.add(b, i, data[i]);
      }
    }
  }

  /** Doubles the bucket size, merging neighbours (of the `used` buckets summarized so far). */
  private coarsen(used: number): void {
    for (const { buckets } of this.cols.values()) {
      for (let b = 0; 2 * b < used; b++) {
        buckets.copy(b, 2 * b);
        if (2 * b + 1 < used) buckets.merge(b, 2 * b + 1);
      }
    }
    this.bucketSize *= 2;
  }

  /**
   * The chart's columns for these keys at about `width` pixels: every record when there are at
   * most 2 × width of them, else per bucket of records each column's min and max in their order
   * (and a null where the bucket has a NaN, so a gap stays a gap), ending on the newest record.
   * With a `range` of x (a zoomed chart): the records in it and one either side, decimated from
   * the records themselves (the summary's buckets are too coarse there).
   */
  columns(keys: readonly K[], width: number, range?: { min: number; max: number }): ChartColumns {
    const target = Math.max(1, Math.floor(width));
    if (range) return this.rangeColumns(keys, target, range);
    const n = this.count;
    if (n <= 2 * target) return this.raw(keys, 0, n);
    const used = this.bucketCount();
    // Merge `factor` stored buckets into one shown bucket: at most `target` of them.
    const factor = Math.ceil(used / target);
    const out = new Emitter(this.xs.data, keys.length);
    const cols = keys.map((key) => this.cols.get(key)?.buckets);
    for (let group = 0; group * factor < used; group++) {
      const b0 = group * factor;
      const b1 = Math.min(used, b0 + factor);
      out.begin();
      cols.forEach((bk, k) => {
        if (!bk) return out.gap(k, b0 * this.bucketSize);
        for (let b = b0; b < b1; b++) {
          if (bk.minAt[b] >= 0) {
            out.value(k, bk.min[b], bk.minAt[b]);
            out.value(k, bk.max[b], bk.maxAt[b]);
          }
          if (bk.gapAt[b] >= 0) out.gap(k, bk.gapAt[b]);
        }
      });
      out.end(b0 * this.bucketSize, Math.min(n, b1 * this.bucketSize) - 1);
    }
    // The newest record itself, as the last point (the legend shows its values).
    pushRecord(this, out.x, out.ys, keys, n - 1);
    return [out.x, ...out.ys];
  }

  /** Every record of [from, to), NaN as null. */
  private raw(keys: readonly K[], from: number, to: number): ChartColumns {
    const x = Array.from(this.xs.data.subarray(from, to));
    const ys = keys.map((key) => {
      const data = this.cols.get(key)?.values.data;
      const out = new Array<number | null>(to - from);
      for (let i = from; i < to; i++) {
        const v = data ? data[i] : NaN;
        out[i - from] = Number.isNaN(v) ? null : v;
      }
      return out;
    });
    return [x, ...ys];
  }

  private rangeColumns(keys: readonly K[], target: number, range: { min: number; max: number }): ChartColumns {
    const xs = this.xs.data;
    const n = this.count;
    // One record either side of the range, so the lines run to its edges.
    const from = Math.max(0, firstAtLeast(xs, n, range.min) - 1);
    const to = Math.min(n, firstAtLeast(xs, n, range.max, true) + 1);
    if (to - from <= 2 * target) return this.raw(keys, from, to);
    const size = Math.ceil((to - from) / target);
    const out = new Emitter(xs, keys.length);
    const cols = keys.map((key) => this.cols.get(key)?.values.data);
    for (let start = from; start < to; start += size) {
      const end = Math.min(to, start + size) - 1;
      out.begin();
      cols.forEach((data, k) => {
        if (!data) return out.gap(k, start);
        for (let i = start; i <= end; i++) {
          const v = data[i];
          if (Number.isNaN(v)) out.gap(k, i);
          else out.value(k, v, i);
        }
      });
      out.end(start, end);
    }
    pushRecord(this, out.x, out.ys, keys, to - 1);
    return [out.x, ...out.ys];
  }
}

function hasValue(column: ArrayLike<number>): boolean {
  for (let i = 0; i < column.length; i++) if (Number.isFinite(column[i])) return true;
  return false;
}

/** The index of the first x ≥ value (> value when `after`), or n. */
function firstAtLeast(xs: Float64Array, n: number, value: number, after = false): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (after ? xs[mid] <= value : xs[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Builds decimated columns a group of records at a time: per column its min and max (in their
 * order) and whether it has a NaN, then up to three points on x: the group's first record, the
 * first NaN's (null for the columns with one), the group's last record.
 */
class Emitter {
  readonly x: number[] = [];
  readonly ys: (number | null)[][];
  private readonly min: number[];
  private readonly max: number[];
  private readonly minAt: number[];
  private readonly maxAt: number[];
  private readonly gapAt: number[];

  constructor(
    private readonly xs: Float64Array,
    private readonly columns: number,
  ) {
    this.ys = Array.from({ length: columns }, () => []);
    this.min = new Array<number>(columns);
    this.max = new Array<number>(columns);
    this.minAt = new Array<number>(columns);
    this.maxAt = new Array<number>(columns);
    this.gapAt = new Array<number>(columns);
  }

  begin(): void {
    this.minAt.fill(-1);
    this.maxAt.fill(-1);
    this.gapAt.fill(-1);
  }

  value(k: number, v: number, at: number): void {
    if (this.minAt[k] < 0 || v < this.min[k]) {
      this.min[k] = v;
      this.minAt[k] = at;
    }
    if (this.maxAt[k] < 0 || v > this.max[k]) {
      this.max[k] = v;
      this.maxAt[k] = at;
    }
  }

  gap(k: number, at: number): void {
    if (this.gapAt[k] < 0 || at < this.gapAt[k]) this.gapAt[k] = at;
  }

  /** The group's points, for records start..end. */
  end(start: number, end: number): void {
    let gapIndex = -1;
    for (let k = 0; k < this.columns; k++) if (this.gapAt[k] >= 0 && (gapIndex < 0 || this.gapAt[k] < gapIndex)) gapIndex = this.gapAt[k];
    // In time order: the earlier of the two extremes first.
    const first = (k: number) => (this.minAt[k] < 0 ? null : this.minAt[k] <= this.maxAt[k] ? this.min[k] : this.max[k]);
    const second = (k: number) => (this.minAt[k] < 0 ? null : this.minAt[k] <= this.maxAt[k] ? this.max[k] : this.min[k]);
    this.point(start, first);
    // The gap sits between the extremes: a line broken by a NaN shows its break.
    if (gapIndex >= 0) this.point(Math.min(Math.max(gapIndex, start), end), (k) => (this.gapAt[k] >= 0 ? null : first(k)));
    this.point(end, second);
  }

  private point(at: number, pick: (k: number) => number | null): void {
    this.x.push(this.xs[at]);
    for (let k = 0; k < this.columns; k++) this.ys[k].push(pick(k));
  }
}

function pushRecord<K extends string>(store: SeriesStore<K>, x: number[], ys: (number | null)[][], keys: readonly K[], i: number): void {
  x.push(store.x(i));
  keys.forEach((key, k) => {
    const v = store.value(key, i);
    ys[k].push(Number.isNaN(v) ? null : v);
  });
}
