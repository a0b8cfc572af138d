/**
 * Discrete data through a differentiable generator (seed 003 §4.5): the Gumbel-softmax, or Concrete,
 * relaxation of a categorical draw (Jang, Gu & Poole 2017; Maddison, Mnih & Teh 2017). G gives a
 * group of logits for each categorical column; while training, the group becomes
 * y = softmax((logits + g)/τ) with g = -log(-log U), U ~ U(0, 1), whose argmax is distributed as
 * softmax(logits) (the Gumbel-max trick) and which tends to that one-hot as τ → 0. Straight-through
 * (`hard`) hands D the one-hot of the argmax and G the gradient of y. Samples are argmax(logits + g): a draw
 * from G's categorical distribution itself (with `hard`, exactly what D was shown), not only its mode.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NetworkConfig } from '../protocol/config';
import type { DataSource } from './data';
import { categoricalGroups } from './data';
import type { Network } from './layerNetwork';
import { Random } from './random';

/** A group of G's output units that is one categorical column: units offset … offset + size - 1. */
export interface CategoricalGroup {
  offset: number;
  size: number;
}

/** What the generator's categorical output needs: its groups, the relaxation (null: linear logits), and the stream g is drawn from. */
export interface CategoricalOutput {
  groups: readonly CategoricalGroup[];
  gumbelSoftmax: { temperature: number; hard: boolean } | null;
  /** The run's checkpointed stream, read at each training pass (a restored checkpoint replaces it). */
  random(): Random;
}

/** G's categorical output for data with categorical columns (data.categorical), else null: G's output is used as it is. */
export function categoricalOutput(generator: NetworkConfig, data: DataSource, random: () => Random): CategoricalOutput | null {
  if (!data.columns) return null;
  const relax = 'gumbelSoftmax' in generator ? generator.gumbelSoftmax : undefined;
  return { groups: categoricalGroups(data.columns), gumbelSoftmax: relax ? { temperature: relax.temperature, hard: relax.hard } : null, random };
}

/** g = -log(-log U) for `count` U ~ U(0, 1) from `random` (a U of exactly 0 is drawn again). */
export function gumbelNoise(random: Random, count: number): Float32Array {
  const g = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let u = 0;
    while (u === 0) u = random.uniform();
    g[i] = -Math.log(-Math.log(u));
  }
  return g;
}

/**
 * The g of a sampling pass, one Gumbel draw per unit of each group, as a function of each noise row z alone (a stream
 * seeded by z's bits): fixed noise gives the same samples at every step, `sample --seed S` the same rows, and distinct
 * z independent draws, without touching the training stream.
 */
function sampleNoise(z: tf.Tensor2D, groups: readonly CategoricalGroup[]): Float32Array[] {
  const [batch, width] = z.shape;
  const bits = new Uint32Array((z.dataSync() as Float32Array).slice().buffer);
  const g = groups.map((group) => new Float32Array(batch * group.size));
  for (let r = 0; r < batch; r++) {
    const random = new Random(`gumbel-sample:${Array.from(bits.subarray(r * width, (r + 1) * width)).join(',')}`);
    groups.forEach((group, i) => g[i].set(gumbelNoise(random, group.size), r * group.size));
  }
  return g;
}

/** One-hot rows of the argmax of each row of `x` [batch, k]. */
export function argmaxOneHot(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.oneHot(tf.argMax(x, 1) as tf.Tensor1D, x.shape[1]), 'float32') as tf.Tensor2D);
}

/** Straight-through: the forward value is the one-hot of each row's argmax, the gradient that of `soft` (Jang et al. 2017, §2.2). */
const straightThrough = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const soft = args[0] as tf.Tensor2D;
  return { value: argmaxOneHot(soft), gradFunc: (dy: tf.Tensor) => [dy] };
});

/** softmax((logits + g)/τ) over each row [batch, k]; with `hard`, its straight-through one-hot. */
export function gumbelSoftmax(logits: tf.Tensor2D, gumbel: tf.Tensor2D, temperature: number, hard = false): tf.Tensor2D {
  return tf.tidy(() => {
    const soft = tf.softmax(tf.div(tf.add(logits, gumbel), temperature)) as tf.Tensor2D;
    return hard ? (straightThrough(soft) as tf.Tensor2D) : soft;
  });
}

/** G's output with each categorical group passed through `group` and the numeric units left as they are. */
function mapGroups(out: tf.Tensor2D, groups: readonly CategoricalGroup[], group: (logits: tf.Tensor2D, index: number) => tf.Tensor2D): tf.Tensor2D {
  const parts: tf.Tensor2D[] = [];
  let at = 0;
  groups.forEach((g, i) => {
    if (g.offset > at) parts.push(tf.slice(out, [0, at], [-1, g.offset - at]));
    parts.push(group(tf.slice(out, [0, g.offset], [-1, g.size]), i));
    at = g.offset + g.size;
  });
  if (at < out.shape[1]) parts.push(tf.slice(out, [0, at], [-1, out.shape[1] - at]));
  return tf.concat(parts, 1);
}

/**
 * The generator with categorical output groups: training passes relax each group by Gumbel-softmax (when
 * configured; else the logits go to D as they are), inference gives each group's one-hot argmax. Every
 * variable is the wrapped network's, so checkpoints and the generator average see no difference.
 */
export class CategoricalGenerator implements Network {
  constructor(
    private readonly network: Network,
    private readonly output: CategoricalOutput,
  ) {}

  get scope(): string {
    return this.network.scope;
  }
  get outputSize(): number {
    return this.network.outputSize;
  }
  get conditioning(): Network['conditioning'] {
    return this.network.conditioning;
  }
  get virtualBatchNorm(): boolean {
    return this.network.virtualBatchNorm;
  }

  apply(x: tf.Tensor2D, training: boolean, labels?: tf.Tensor2D): tf.Tensor2D {
    const relax = this.output.gumbelSoftmax;
    const batch = x.shape[0];
    // Drawn outside tidy and in a fixed order (group by group), so the stream, and a resume, stay exact.
    const noise = training && relax ? this.output.groups.map((g) => gumbelNoise(this.output.random(), batch * g.size)) : null;
    return tf.tidy(() => {
      const out = this.network.apply(x, training, labels);
      if (!training) {
        // Without the relaxation G's groups are plain outputs, read by their largest unit.
        if (!relax) return mapGroups(out, this.output.groups, argmaxOneHot);
        const g = sampleNoise(x, this.output.groups);
        return mapGroups(out, this.output.groups, (logits, i) => argmaxOneHot(tf.add(logits, tf.tensor2d(g[i], logits.shape)) as tf.Tensor2D));
      }
      if (!relax || !noise) return out;
      return mapGroups(out, this.output.groups, (logits, i) => gumbelSoftmax(logits, tf.tensor2d(noise[i], logits.shape), relax.temperature, relax.hard));
    });
  }

  features(x: tf.Tensor2D, training: boolean, layerIndex: number, labels?: tf.Tensor2D): tf.Tensor2D {
    return this.network.features(x, training, layerIndex, labels);
  }
  spectralNormUpdate(): tf.Scalar | null {
    return this.network.spectralNormUpdate();
  }
  setVirtualReference(x: tf.Tensor2D): void {
    this.network.setVirtualReference(x);
  }
  trainableVariables(): tf.Variable[] {
    return this.network.trainableVariables();
  }
  namedVariables(): ReturnType<Network['namedVariables']> {
    return this.network.namedVariables();
  }
  dispose(): void {
    this.network.dispose();
  }
}
