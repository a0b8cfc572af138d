/**
 * `npm run bench:kernels`: the WASM kernels the trainer registers (src/trainer/kernels/) at the
 * reference GANs' shapes, each against tfjs-backend-wasm's own kernel in the same run, then both
 * reference GANs' training steps (bench/configs/*.gan.json, run by the trainer's own Gan) with
 * their per-kernel profiles. BENCH_REPS sets the repetitions per figure (default 7).
 *
 * Kernel figures are the least CPU time of this process over the repetitions, the two kernels of
 * a row timed alternately on fresh inputs (as in training, where weights change every step): the
 * machine is shared, and CPU time leaves out the time other processes hold the core, which wall
 * time does not. Step figures give both. With worker threads (GAN_WORKBENCH_THREADS, default the
 * machine's cores; src/trainer/kernels/heapThreads.ts) CPU time adds up every thread's, so the
 * threaded kernels are also timed by the wall clock on all threads against one thread, alternately;
 * those figures ("wall 1 th", "wall N th") need the cores free of other work to mean anything.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { backendThreads, selectBackend } from '../src/trainer/backend';
import { loadConfigFile, resolveConfigPaths } from '../src/trainer/configFile';
import { loadData } from '../src/trainer/data';
import { Gan } from '../src/trainer/gan';
import { heapThreads } from '../src/trainer/kernels/heapThreads';
import type { WasmHeap } from '../src/trainer/kernels/heapMover';
import { relaxedSimdAvailable } from '../src/trainer/kernels/wasmAssembler';
import { im2colConv2D, stockWasmKernel } from '../src/trainer/kernels/wasmConv';
import { stockWasmElementwiseKernel } from '../src/trainer/kernels/wasmElementwise';
import { stockBatchMatMul } from '../src/trainer/kernels/wasmMatMul';

const REPS = Number(process.env.BENCH_REPS ?? 7);
const BATCH = 64;
const CONFIGS = ['bench/configs/dcgan.gan.json', 'bench/configs/mlp2d.gan.json'];

type Shape4 = [number, number, number, number];

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** One call of a kernel directly (no engine bookkeeping) on fresh inputs: CPU ms, or wall ms on `threads` threads. */
function timeOnce(kernelFunc: KernelFunc, makeInputs: () => Record<string, tf.Tensor>, attrs: object, threads?: number): number {
  const backend = tf.backend();
  const inputs = makeInputs();
  const pool = poolOf();
  if (threads !== undefined) pool?.setLanes(threads);
  const [start, wallStart] = [cpuMs(), performance.now()];
  const out = kernelFunc({ inputs, backend, attrs: attrs as NamedAttrMap }) as TensorInfo;
  const ms = threads === undefined ? cpuMs() - start : performance.now() - wallStart;
  pool?.setLanes(pool.size);
  backend.disposeData(out.dataId);
  tf.dispose(Object.values(inputs));
  return ms;
}

function poolOf() {
  return heapThreads((tf.backend() as unknown as { wasm: WasmHeap }).wasm.asm?.memory);
}

/** CPU ms on one thread, then wall ms on one thread and on all, timed alternately; the wall figures are NaN without a pool. */
function timeThreaded(kernelFunc: KernelFunc, makeInputs: () => Record<string, tf.Tensor>, attrs: object, ...others: (() => number)[]): number[] {
  const threads = poolOf()?.size ?? 1;
  const walls = threads > 1 ? [() => timeOnce(kernelFunc, makeInputs, attrs, 1), () => timeOnce(kernelFunc, makeInputs, attrs, threads)] : [];
  const best = timeAlternately(() => timeOnce(kernelFunc, makeInputs, attrs, undefined), ...others, ...walls);
  return threads > 1 ? best : [...best, NaN, NaN];
}

/** The wall-clock cells of a row: 1 thread, all threads, speed-up. */
function wallCells(one: number, all: number): string[] {
  return Number.isNaN(all) ? [] : [one.toFixed(2), all.toFixed(2), `${(one / all).toFixed(2)}×`];
}

/** A warm-up, then REPS rounds of each function alternately; each one's least time. */
function timeAlternately(...runs: (() => number)[]): number[] {
  const best = runs.map(() => Infinity);
  for (let i = 0; i <= REPS; i++) {
    runs.forEach((run, j) => {
      const ms = run();
      if (i > 0) best[j] = Math.min(best[j], ms);
    });
  }
  return best;
}

function kernel(name: string): KernelFunc {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`no ${name} kernel for wasm`);
  return config.kernelFunc;
}

const gflops = (flops: number, ms: number) => flops / ms / 1e6;
const pad = (text: string | number, width: number) => String(text).padStart(width);
const row = (cells: (string | number)[], first: number) => cells.map((c, i) => pad(c, i === 0 ? first : 10)).join('');

function benchMatMul(): void {
  const stock = stockBatchMatMul();
  if (!stock) throw new Error('the stock BatchMatMul was not kept');
  console.log(`\nBatchMatMul, fresh B every call: the heap GEMM (${relaxedSimdAvailable() ? 'with' : 'without'} FMA) vs the stock XNNPACK kernel (CPU ms)`);
  const threads = backendThreads();
  const wallHeader = threads > 1 ? ['wall 1 th', `wall ${threads} th`, 'speed-up'] : [];
  console.log(row(['product m×k·k×n', 'heap ms', 'GFLOP/s', 'stock ms', 'GFLOP/s', 'speed-up', ...wallHeader], 44));
  const cases: [string, number, number, number][] = [
    ['MLP G layer 100×400·400×400', 100, 400, 400],
    ['MLP G dW 400×100·100×400', 400, 100, 400],
    ['DCGAN G dense 64×100·100×6272', 64, 100, 6272],
    ['DCGAN D dense 64×6272·6272×1', 64, 6272, 1],
    ['D conv2 columns 3136×1024·1024×128', 3136, 1024, 128],
    ['G convT1 3136×128·128×1024', 3136, 128, 1024],
    ['D conv2 dW 1024×3136·3136×128', 1024, 3136, 128],
  ];
  for (const [name, m, k, n] of cases) {
    const inputs = () => ({ a: tf.randomNormal([1, m, k]), b: tf.randomNormal([1, k, n]) });
    const attrs = { transposeA: false, transposeB: false };
    const [heap, xnn, one, all] = timeThreaded(kernel('BatchMatMul'), inputs, attrs, () => timeOnce(stock.kernelFunc, inputs, attrs));
    const flops = 2 * m * k * n;
    console.log(
      row(
        [
          name,
          heap.toFixed(2),
          gflops(flops, heap).toFixed(1),
          xnn.toFixed(2),
          gflops(flops, xnn).toFixed(1),
          `${(xnn / heap).toFixed(2)}×`,
          ...wallCells(one, all),
        ],
        44,
      ),
    );
  }
}

interface Layer {
  name: string;
  /** The convolution whose forward pass, input gradient and filter gradient the layer runs. */
  x: Shape4;
  filter: Shape4;
}

/** D's two convolutions; G's transposed convolutions are the same convolutions run backwards. */
const LAYERS: Layer[] = [
  { name: 'D conv1 / G convT2 (28x28x1 <-> 14x14x64)', x: [BATCH, 28, 28, 1], filter: [4, 4, 1, 64] },
  { name: 'D conv2 / G convT1 (14x14x64 <-> 7x7x128)', x: [BATCH, 14, 14, 64], filter: [4, 4, 64, 128] },
];

function benchConvolutions(): void {
  console.log(`\nConvolution kernels, batch ${BATCH} (CPU ms; "stock" = tfjs-backend-wasm's own kernel)`);
  const threads = backendThreads();
  const wallHeader = threads > 1 ? ['wall 1 th', `wall ${threads} th`, 'speed-up'] : [];
  console.log(row(['kernel', 'ms', 'GFLOP/s', 'stock ms', 'GFLOP/s', 'speed-up', ...wallHeader], 36));
  const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined };
  for (const layer of LAYERS) {
    const [kh, kw, c, oc] = layer.filter;
    const [b, h, w] = layer.x;
    const out: Shape4 = [b, Math.ceil(h / 2), Math.ceil(w / 2), oc];
    const flops = 2 * b * out[1] * out[2] * kh * kw * c * oc;
    const x = () => tf.randomNormal(layer.x);
    const f = () => tf.randomNormal(layer.filter);
    const dy = () => tf.randomNormal(out);
    const cases: { name: string; func: string; im2col?: boolean; inputs: () => Record<string, tf.Tensor>; attrs: object }[] = [
      { name: 'Conv2D (forward)', func: 'Conv2D', inputs: () => ({ x: x(), filter: f() }), attrs },
      // The registered Conv2D hands stride-1 convolutions over 8+ channels to the stock kernel; its own path for comparison.
      { name: '  Conv2D, im2col path', func: 'Conv2D', im2col: true, inputs: () => ({ x: x(), filter: f() }), attrs },
      {
        name: 'Conv2DBackpropInput (dx, convT)',
        func: 'Conv2DBackpropInput',
        inputs: () => ({ dy: dy(), filter: f() }),
        attrs: { ...attrs, inputShape: layer.x },
      },
      { name: 'Conv2DBackpropFilter (dW)', func: 'Conv2DBackpropFilter', inputs: () => ({ x: x(), dy: dy() }), attrs: { ...attrs, filterShape: layer.filter } },
    ];
    console.log(layer.name);
    for (const k of cases) {
      const original = stockWasmKernel(k.func);
      // The stock Conv2DBackpropInput takes ~0.3 s at the big shape: timed twice, not REPS times.
      const [ms, one, all] = timeThreaded(k.im2col ? im2colConv2D : kernel(k.func), k.inputs, k.attrs);
      const stockMs = original ? Math.min(timeOnce(original.kernelFunc, k.inputs, k.attrs), timeOnce(original.kernelFunc, k.inputs, k.attrs)) : NaN;
      const cells = original ? [stockMs.toFixed(2), gflops(flops, stockMs).toFixed(1), `${(stockMs / ms).toFixed(2)}×`] : ['missing', '', ''];
      console.log(row([`  ${k.name}`, ms.toFixed(2), gflops(flops, ms).toFixed(1), ...cells, ...wallCells(one, all)], 36));
    }
  }
}

function benchElementwise(): void {
  const shape: Shape4 = [BATCH, 14, 14, 64];
  console.log(`\nElement-wise kernels at ${shape.join('×')} (CPU ms)`);
  console.log(row(['kernel', 'ms', 'stock ms', 'speed-up'], 36));
  const x = () => ({ x: tf.randomNormal(shape) });
  const cases: [string, string, () => Record<string, tf.Tensor>, object][] = [
    ['LeakyRelu', 'LeakyRelu', x, { alpha: 0.2 }],
    ['Sum over axes 0-2 (a bias gradient)', 'Sum', x, { axis: [0, 1, 2], keepDims: false }],
    ['Mean over axes 0-2 (batch norm)', 'Mean', x, { axis: [0, 1, 2], keepDims: false }],
    ['Identity (tfjs saves tensors so)', 'Identity', x, {}],
    ['Transpose 64×6272', 'Transpose', () => ({ x: tf.randomNormal([BATCH, 6272]) }), { perm: [1, 0] }],
  ];
  for (const [name, func, inputs, attrs] of cases) {
    const original = stockWasmElementwiseKernel(func);
    if (!original) continue;
    const [ms, stockMs] = timeAlternately(
      () => timeOnce(kernel(func), inputs, attrs),
      () => timeOnce(original.kernelFunc, inputs, attrs),
    );
    console.log(row([name, ms.toFixed(3), stockMs.toFixed(3), `${(stockMs / Math.max(ms, 1e-3)).toFixed(1)}×`], 36));
  }
}

/** The trainer's own training step on a reference config: timing, then its per-kernel profile. */
async function benchStep(configPath: string): Promise<void> {
  const file = path.resolve(__dirname, '..', configPath);
  const config = resolveConfigPaths(await loadConfigFile(file), path.dirname(file));
  const gan = new Gan(config, await loadData(config.data, path.dirname(file)));
  const batch = config.training.batchSize;
  try {
    for (let i = 0; i < 3; i++) await gan.step(false);
    const [walls, cpus]: number[][] = [[], []];
    for (let i = 0; i < Math.max(REPS, 5); i++) {
      const [wall, cpu] = [performance.now(), cpuMs()];
      await gan.step(false);
      walls.push(performance.now() - wall);
      cpus.push(cpuMs() - cpu);
    }
    const rate = (ms: number) => ((batch * 1000) / ms).toFixed(0);
    console.log(
      `\n${path.basename(configPath)}, batch ${batch}: one step in ${Math.min(...cpus).toFixed(1)} ms CPU (${rate(Math.min(...cpus))} samples/s), wall best ${Math.min(...walls).toFixed(1)} ms, median ${median(walls).toFixed(1)} ms`,
    );
    const pool = poolOf();
    if (pool && pool.size > 1) {
      // The same steps on one thread and on all, alternately, by the wall clock.
      const byThreads = new Map<number, number[]>([
        [1, []],
        [pool.size, []],
      ]);
      for (let i = 0; i < Math.max(REPS, 5); i++) {
        for (const [threads, times] of byThreads) {
          pool.setLanes(threads);
          const wall = performance.now();
          await gan.step(false);
          times.push(performance.now() - wall);
        }
      }
      pool.setLanes(pool.size);
      const cells = [...byThreads].map(
        ([threads, times]) =>
          `${threads} thread(s) best ${Math.min(...times).toFixed(1)} ms (${rate(Math.min(...times))} samples/s), median ${median(times).toFixed(1)} ms`,
      );
      console.log(`wall, alternating: ${cells.join('; ')}`);
    }
    // Per kernel, the least over several profiled steps (tf.profile times each kernel by the wall clock).
    const best = new Map<string, { ms: number; calls: number }>();
    let calls = 0;
    for (let p = 0; p < 5; p++) {
      const profile = await tf.profile(async () => {
        await gan.step(false);
      });
      calls = profile.kernels.length;
      const step = new Map<string, { ms: number; calls: number }>();
      for (const k of profile.kernels) {
        const entry = step.get(k.name) ?? { ms: 0, calls: 0 };
        entry.ms += Number(k.kernelTimeMs);
        entry.calls++;
        step.set(k.name, entry);
      }
      for (const [name, entry] of step) if (!best.has(name) || entry.ms < (best.get(name) as { ms: number }).ms) best.set(name, entry);
    }
    const total = [...best.values()].reduce((sum, e) => sum + e.ms, 0);
    console.log(`per-kernel profile (${calls} kernel calls a step, ${total.toFixed(0)} ms in kernels; each kernel's least of 5 profiled steps):`);
    console.log(`${pad('kernel', 24)}${pad('calls', 8)}${pad('ms', 10)}${pad('share', 8)}`);
    for (const [name, { ms, calls: n }] of [...best].sort((a, b) => b[1].ms - a[1].ms)) {
      if (ms < 0.3) continue;
      console.log(`${pad(name, 24)}${pad(n, 8)}${pad(ms.toFixed(1), 10)}${pad(`${((100 * ms) / total).toFixed(1)}%`, 8)}`);
    }
  } finally {
    gan.dispose();
  }
}

void (async () => {
  await selectBackend('wasm');
  console.log(
    `WASM kernels, best of ${REPS}; relaxed-SIMD FMA ${relaxedSimdAvailable() ? 'on' : 'off'}; ${backendThreads()} thread(s) (GAN_WORKBENCH_THREADS)`,
  );
  benchMatMul();
  benchConvolutions();
  benchElementwise();
  for (const config of CONFIGS) await benchStep(config);
})();
