/** The monitor's series store: min/max decimation that keeps extremes, gaps and the newest record. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_BUCKETS, SeriesStore } from '../../webview/monitor/seriesStore';

type Key = 'a' | 'b';

/** A noisy series with one spike up in `a` and one down in `b`. */
function fill(store: SeriesStore<Key>, n: number, spikeAt: number): void {
  for (let i = 0; i < n; i++) {
    const a = i === spikeAt ? 1000 : Math.sin(i / 50) + 0.01 * ((i * 7919) % 13);
    const b = i === spikeAt + 1 ? -1000 : Math.cos(i / 70);
    store.append(10 * (i + 1), { a, b });
  }
}

const finite = (column: (number | null)[]) => column.filter((v): v is number => v !== null);

describe('series store', () => {
  it('gives every record while there are few, NaN as null', () => {
    const store = new SeriesStore<Key>();
    store.append(10, { a: 1, b: 2 });
    store.append(20, { a: null, b: 3 });
    store.append(30, { a: 4 });
    assert.deepEqual(store.columns(['a', 'b'], 400), [
      [10, 20, 30],
      [1, null, 4],
      [2, 3, null],
    ]);
    assert.equal(store.length, 3);
    assert.equal(store.lastX(), 30);
  });

  it('a column first seen later has no values before it', () => {
    const store = new SeriesStore<Key>();
    store.append(10, { a: 1 });
    assert.equal(store.has('b'), false);
    store.append(20, { a: 2, b: 5 });
    assert.equal(store.has('b'), true);
    assert.deepEqual(store.columns(['b'], 400), [
      [10, 20],
      [null, 5],
    ]);
  });

  it('a column that appears after the buckets have grown is summarized from where it appears', () => {
    const store = new SeriesStore<Key>();
    const n = 5 * MAX_BUCKETS + 123;
    const late = 3 * MAX_BUCKETS + 7;
    for (let i = 0; i < n; i++) store.append(i, i < late ? { a: Math.sin(i) } : { a: Math.sin(i), b: i === n - 500 ? 99 : Math.cos(i) });
    const [x, a, b] = store.columns(['a', 'b'], 300);
    assert.equal(Math.max(...finite(b)), 99);
    assert.ok(
      b.every((v, i) => v === null || x[i] >= late - n / 300),
      'no b before it appeared',
    );
    assert.ok(b.slice(-20).every((v) => v !== null));
    assert.ok(Math.max(...finite(a)) > 0.999 && Math.min(...finite(a)) < -0.999);
  });

  it('keeps a single spike, both extremes and the newest record among a million points, at about two points a pixel', () => {
    const store = new SeriesStore<Key>();
    const n = 1_000_000;
    fill(store, n, 654_321);
    const width = 800;
    const [x, a, b] = store.columns(['a', 'b'], width);
    assert.ok(x.length <= 3 * width + 1, `${x.length} points for ${width} px`);
    assert.ok(x.length >= width, `${x.length} points for ${width} px`);
    assert.equal(Math.max(...finite(a)), 1000);
    assert.equal(Math.min(...finite(b)), -1000);
    assert.equal(x[x.length - 1], 10 * n, 'ends on the newest step');
    assert.equal(a[a.length - 1], store.value('a', n - 1));
    for (let i = 1; i < x.length; i++) assert.ok(x[i] >= x[i - 1], 'x ascending');
    // The spike is drawn where it happened (within its bucket of records).
    const at = x[a.indexOf(1000)];
    assert.ok(Math.abs(at - 6_543_220) <= (10 * n) / width, `spike drawn at step ${at}`);
  });

  it('summarizes records appended one at a time as it does a whole history at once', () => {
    const one = new SeriesStore<Key>();
    fill(one, 3 * MAX_BUCKETS + 17, 5000);
    const all = new SeriesStore<Key>();
    all.appendColumns(one.xColumn(), { a: one.column('a')!, b: one.column('b')! });
    assert.deepEqual(all.columns(['a', 'b'], 300), one.columns(['a', 'b'], 300));
    // And history then live records: the same again.
    const mixed = new SeriesStore<Key>();
    const half = 2 * MAX_BUCKETS + 3;
    mixed.appendColumns(one.xColumn().subarray(0, half), { a: one.column('a')!.subarray(0, half), b: one.column('b')!.subarray(0, half) });
    for (let i = half; i < one.length; i++) mixed.append(one.x(i), { a: one.value('a', i), b: one.value('b', i) });
    assert.deepEqual(mixed.columns(['a', 'b'], 300), one.columns(['a', 'b'], 300));
  });

  it('zoomed into a range of steps, draws the records there from the records themselves', () => {
    const store = new SeriesStore<Key>();
    fill(store, 1_000_000, 654_321);
    // 200 records: all of them, and one either side (the lines run to the edges).
    const [x, a] = store.columns(['a'], 800, { min: 6_543_010, max: 6_545_000 });
    assert.equal(x.length, 202);
    assert.equal(x[0], 6_543_000);
    assert.equal(x[x.length - 1], 6_545_010);
    assert.equal(a[x.indexOf(6_543_220)], 1000);
    // 100,000 records: decimated, still with the spike, ending on the range's last record.
    const [wide, wideA] = store.columns(['a'], 800, { min: 6_000_000, max: 7_000_000 });
    assert.ok(wide.length <= 3 * 800 + 1);
    assert.equal(Math.max(...finite(wideA)), 1000);
    assert.equal(wide[wide.length - 1], 7_000_010);
  });

  it('keeps a NaN divergence as a gap, and a line that ends in NaN ends', () => {
    const store = new SeriesStore<Key>();
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const diverged = i >= 150_000;
      store.append(i, { a: i === 50_000 ? NaN : Math.sin(i / 1000), b: diverged ? NaN : 1 });
    }
    const [x, a, b] = store.columns(['a', 'b'], 500);
    // One NaN among 200,000 records of a: a null in the middle of the line.
    const gaps = a.map((v, i) => (v === null ? x[i] : -1)).filter((s) => s >= 0);
    assert.ok(gaps.length >= 1 && gaps.every((s) => Math.abs(s - 50_000) <= n / 500), `gaps of a at ${gaps.join(',')}`);
    // b has no values after 150,000: all nulls there.
    assert.ok(b.every((v, i) => (x[i] > 150_000 + n / 500 ? v === null : true)));
    assert.equal(b[b.length - 1], null);
    assert.equal(Math.max(...finite(b)), 1);
  });
});
