/**
 * `node --import tsx bench/kernels.ts`: the WASM convolution kernels at the reference DCGAN's
 * shapes (batch 64), against the plain WASM matmul of the same product in the same run, then one
 * whole DCGAN training step (D on a real and a fake batch, a non-saturating G update, Adam) with
 * its per-kernel profile. BENCH_REPS sets the repetitions per figure (default 7).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { selectBackend } from '../src/trainer/backend';
import { im2colConv2D, stockWasmKernel } from '../src/trainer/kernels/wasmConv';

const REPS = Number(process.env.BENCH_REPS ?? 7);
const BATCH = 64;

type Shape4 = [number, number, number, number];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** One call of a kernel directly (no engine bookkeeping) on fresh inputs, in ms. */
function timeOnce(kernelFunc: tf.KernelFunc, makeInputs: () => Record<string, tf.Tensor>, attrs: object): number {
  const backend = tf.backend();
  const inputs = makeInputs();
  const start = performance.now();
  const out = kernelFunc({ inputs, backend, attrs: attrs as NamedAttrMap }) as TensorInfo;
  const ms = performance.now() - start;
  backend.disposeData(out.dataId);
  tf.dispose(Object.values(inputs));
  return ms;
}

/**
 * Times a kernel and a reference alternately, a warm-up and REPS rounds, and keeps each one's
 * fastest: the machine is shared, and interference only ever adds time. Inputs are fresh every
 * call, as in training where the weights change every step (XNNPACK caches packed weights by
 * tensor id and would otherwise skip the packing).
 */
function timePair(a: () => number, b: () => number): [number, number] {
  let [bestA, bestB] = [Infinity, Infinity];
  for (let i = 0; i <= REPS; i++) {
    const [ta, tb] = [a(), b()];
    if (i === 0) continue;
    [bestA, bestB] = [Math.min(bestA, ta), Math.min(bestB, tb)];
  }
  return [bestA, bestB];
}

function kernel(name: string): tf.KernelFunc {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`no ${name} kernel for wasm`);
  return config.kernelFunc;
}

const gflops = (flops: number, ms: number) => flops / ms / 1e6;
const pad = (text: string | number, width: number) => String(text).padStart(width);

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

function benchKernels(): void {
  console.log(`WASM conv kernels, batch ${BATCH}, best of ${REPS} (ms, GFLOP/s; "matmul" = the plain WASM matmul of the same product, timed alternately)`);
  console.log(['kernel', 'ms', 'GFLOP/s', 'matmul ms', 'GFLOP/s', 'ratio', 'stock ms'].map((h, i) => pad(h, i === 0 ? 34 : 10)).join(''));
  const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined };
  for (const layer of LAYERS) {
    const [kh, kw, c, oc] = layer.filter;
    const [b, h, w] = layer.x;
    const out: Shape4 = [b, Math.ceil(h / 2), Math.ceil(w / 2), oc];
    const positions = b * out[1] * out[2];
    const depth = kh * kw * c;
    const flops = 2 * positions * depth * oc;
    const x = () => tf.randomNormal(layer.x);
    const f = () => tf.randomNormal(layer.filter);
    const dy = () => tf.randomNormal(out);
    const cases: { name: string; func: string; im2col?: boolean; inputs: () => Record<string, tf.Tensor>; attrs: object; product: [number, number, number] }[] =
      [
        { name: 'Conv2D (forward)', func: 'Conv2D', inputs: () => ({ x: x(), filter: f() }), attrs, product: [positions, depth, oc] },
        // The registered Conv2D hands 8+ input channels to the stock kernel; its own path for comparison.
        { name: '  Conv2D, im2col path', func: 'Conv2D', im2col: true, inputs: () => ({ x: x(), filter: f() }), attrs, product: [positions, depth, oc] },
        {
          name: 'Conv2DBackpropInput (dx, convT)',
          func: 'Conv2DBackpropInput',
          inputs: () => ({ dy: dy(), filter: f() }),
          attrs: { ...attrs, inputShape: layer.x },
          product: [positions, oc, depth],
        },
        {
          name: 'Conv2DBackpropFilter (dW)',
          func: 'Conv2DBackpropFilter',
          inputs: () => ({ x: x(), dy: dy() }),
          attrs: { ...attrs, filterShape: layer.filter },
          product: [depth, positions, oc],
        },
      ];
    console.log(layer.name);
    for (const k of cases) {
      const [m, kk, n] = k.product;
      const matMulInputs = () => ({ a: tf.randomNormal([1, m, kk]), b: tf.randomNormal([1, kk, n]) });
      const [ms, matMs] = timePair(
        () => timeOnce(k.im2col ? im2colConv2D : kernel(k.func), k.inputs, k.attrs),
        () => timeOnce(kernel('BatchMatMul'), matMulInputs, { transposeA: false, transposeB: false }),
      );
      const original = stockWasmKernel(k.func);
      // The stock Conv2DBackpropInput takes ~0.2 s at the big shape: the best of two.
      const stockMs = original ? Math.min(timeOnce(original.kernelFunc, k.inputs, k.attrs), timeOnce(original.kernelFunc, k.inputs, k.attrs)) : NaN;
      const rate = gflops(flops, ms);
      const matRate = gflops(flops, matMs);
      console.log(
        [
          pad(`  ${k.name}`, 34),
          pad(ms.toFixed(2), 10),
          pad(rate.toFixed(1), 10),
          pad(matMs.toFixed(2), 10),
          pad(matRate.toFixed(1), 10),
          pad(`${((100 * rate) / matRate).toFixed(0)}%`, 10),
          pad(original ? stockMs.toFixed(2) : 'missing', 10),
        ].join(''),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The reference DCGAN, written on tfjs-core ops (no tfjs-layers), trained with Adam(2e-4, β1 0.5).

const LATENT = 100;
const SLOPE = 0.2;
const EPSILON = 1e-5;

function normalInit(shape: number[], std = 0.02): tf.Variable {
  return tf.variable(tf.randomNormal(shape, 0, std));
}

/**
 * Batch normalisation with the batch's statistics (training mode), written with broadcasting ops
 * as the trainer does (src/trainer/layerNetwork.ts): tf.batchNorm's gradient runs Tile, which
 * costs the WASM backend ~34 ms for a 64×14×14×64 batch.
 */
function batchNorm(x: tf.Tensor, axes: number[], gamma: tf.Variable, beta: tf.Variable): tf.Tensor {
  const { mean, variance } = tf.moments(x, axes);
  const scale = tf.mul(tf.rsqrt(tf.add(variance, EPSILON)), gamma);
  return tf.add(tf.mul(tf.sub(x, mean), scale), beta);
}

class Dcgan {
  readonly g = {
    dense: normalInit([LATENT, 7 * 7 * 128]),
    gamma0: tf.variable(tf.ones([7 * 7 * 128])),
    beta0: tf.variable(tf.zeros([7 * 7 * 128])),
    convT1: normalInit([4, 4, 64, 128]),
    gamma1: tf.variable(tf.ones([64])),
    beta1: tf.variable(tf.zeros([64])),
    convT2: normalInit([4, 4, 1, 64]),
    bias2: tf.variable(tf.zeros([1])),
  };
  readonly d = {
    conv1: normalInit([4, 4, 1, 64]),
    bias1: tf.variable(tf.zeros([64])),
    conv2: normalInit([4, 4, 64, 128]),
    bias2: tf.variable(tf.zeros([128])),
    dense: normalInit([7 * 7 * 128, 1]),
    bias3: tf.variable(tf.zeros([1])),
  };
  private readonly optG = tf.train.adam(2e-4, 0.5);
  private readonly optD = tf.train.adam(2e-4, 0.5);

  generate(z: tf.Tensor2D): tf.Tensor4D {
    const g = this.g;
    const n = z.shape[0];
    let h: tf.Tensor = tf.leakyRelu(batchNorm(tf.matMul(z, g.dense), [0], g.gamma0, g.beta0), SLOPE);
    h = tf.reshape(h, [n, 7, 7, 128]);
    h = tf.conv2dTranspose(h as tf.Tensor4D, g.convT1 as tf.Tensor4D, [n, 14, 14, 64], 2, 'same');
    h = tf.leakyRelu(batchNorm(h, [0, 1, 2], g.gamma1, g.beta1), SLOPE);
    h = tf.add(tf.conv2dTranspose(h as tf.Tensor4D, g.convT2 as tf.Tensor4D, [n, 28, 28, 1], 2, 'same'), g.bias2);
    return tf.tanh(h) as tf.Tensor4D;
  }

  /** D's logits. */
  discriminate(x: tf.Tensor4D): tf.Tensor2D {
    const d = this.d;
    let h: tf.Tensor = tf.leakyRelu(tf.add(tf.conv2d(x, d.conv1 as tf.Tensor4D, 2, 'same'), d.bias1), SLOPE);
    h = tf.leakyRelu(tf.add(tf.conv2d(h as tf.Tensor4D, d.conv2 as tf.Tensor4D, 2, 'same'), d.bias2), SLOPE);
    return tf.add(tf.matMul(tf.reshape(h, [x.shape[0], 7 * 7 * 128]), d.dense), d.bias3) as tf.Tensor2D;
  }

  /** One step: D on a real and a generated batch, then G through the updated D (non-saturating cost). */
  step(real: tf.Tensor4D, z: tf.Tensor2D): void {
    const fake = tf.tidy(() => this.generate(z));
    const dCost = this.optD.minimize(
      () => tf.add(tf.mean(tf.softplus(tf.neg(this.discriminate(real)))), tf.mean(tf.softplus(this.discriminate(fake)))),
      true,
      Object.values(this.d),
    );
    fake.dispose();
    const gCost = this.optG.minimize(() => tf.mean(tf.softplus(tf.neg(this.discriminate(this.generate(z))))), true, Object.values(this.g));
    // Reading the costs is what a training loop does anyway; it also waits for all the work.
    for (const cost of [dCost, gCost]) {
      cost?.dataSync();
      cost?.dispose();
    }
  }
}

async function benchStep(): Promise<void> {
  const gan = new Dcgan();
  const batch = () => ({ real: tf.randomUniform([BATCH, 28, 28, 1], -1, 1) as tf.Tensor4D, z: tf.randomNormal([BATCH, LATENT]) as tf.Tensor2D });
  const times: number[] = [];
  for (let i = 0; i <= REPS; i++) {
    const { real, z } = batch();
    const start = performance.now();
    gan.step(real, z);
    if (i > 0) times.push(performance.now() - start);
    tf.dispose([real, z]);
  }
  const [ms, best] = [median(times), Math.min(...times)];
  const rate = (t: number) => ((BATCH * 1000) / t).toFixed(1);
  console.log(
    `\nDCGAN training step, batch ${BATCH}: median ${ms.toFixed(0)} ms = ${rate(ms)} samples/s, best ${best.toFixed(0)} ms = ${rate(best)} samples/s, of ${REPS} (PyTorch peer: 168-197 samples/s; goal >= 126)`,
  );

  const { real, z } = batch();
  const before = tf.memory().numTensors;
  const profile = await tf.profile(() => gan.step(real, z));
  const leaked = tf.memory().numTensors - before;
  tf.dispose([real, z]);
  const byKernel = new Map<string, { ms: number; calls: number }>();
  const byConv = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  const add = (map: Map<string, { ms: number; calls: number }>, key: string, ms: number) => {
    const entry = map.get(key) ?? { ms: 0, calls: 0 };
    entry.ms += ms;
    entry.calls++;
    map.set(key, entry);
  };
  for (const k of profile.kernels) {
    const ms = Number(k.kernelTimeMs);
    total += ms;
    add(byKernel, k.name, ms);
    if (k.name.startsWith('Conv2D')) add(byConv, `${k.name} ${k.inputShapes.map((s) => s?.join('x')).join(' ')}`, ms);
  }
  console.log(
    `Per-kernel profile of one step (tf.profile; ${profile.kernels.length} kernel calls, ${total.toFixed(0)} ms in kernels; tensors leaked: ${leaked}):`,
  );
  const table = (map: Map<string, { ms: number; calls: number }>, width: number) => {
    for (const [name, { ms, calls }] of [...map].sort((a, b) => b[1].ms - a[1].ms)) {
      if (ms < 0.5) continue;
      console.log(`${pad(name, width)}${pad(calls, 8)}${pad(ms.toFixed(1), 10)}${pad(`${((100 * ms) / total).toFixed(1)}%`, 8)}`);
    }
  };
  console.log(`${pad('kernel', 24)}${pad('calls', 8)}${pad('ms', 10)}${pad('share', 8)}`);
  table(byKernel, 24);
  console.log(`\nConvolution kernels by input shapes (each includes its own matmul):`);
  table(byConv, 60);
}

void (async () => {
  await selectBackend('wasm');
  benchKernels();
  await benchStep();
})();
