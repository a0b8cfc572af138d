/**
 * Progressive growing (Karras et al. 2018): G and D as one block per resolution, the lowest first,
 * grown by the schedule of training.progressive. The interface stays at the data's size: G's image
 * at the current resolution r is enlarged (nearest) to the data's side, and D average-pools its
 * input back to r, so D sees exactly G's r × r image and real images pooled to r, as in the paper.
 * Every block's variables exist from the start (checkpoints have one fixed set).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ProgressiveNetworkConfig } from '../protocol/config';
import type { InitConfig } from '../protocol/layersConfig';
import type { NetworkConfig } from '../protocol/config';
import type { Network } from './layerNetwork';
import { NetworkShapeError } from './layerNetwork';
import type { NamedVariable } from './mlp';
import type { Random } from './random';

const SLOPE = 0.2;
const PIXEL_NORM_EPSILON = 1e-8;

/** Where the schedule stands: the newest block in use, and how far it has faded in. */
export interface Growth {
  stage: number;
  /** α in [0, 1]: the new block's share of the output (G) and of the input path (D). */
  alpha: number;
}

/** The growth at `step` (1-based: the step being trained) of training.progressive. */
export function growthAt(step: number, stages: number, schedule: { stageSteps: number; fadeSteps: number }): Growth {
  const stage = Math.min(stages - 1, Math.floor(Math.max(0, step - 1) / schedule.stageSteps));
  if (stage === 0 || schedule.fadeSteps === 0) return { stage, alpha: 1 };
  const into = step - 1 - stage * schedule.stageSteps;
  return { stage, alpha: Math.min(1, (into + 1) / schedule.fadeSteps) };
}

interface Conv {
  kernel: tf.Variable;
  bias: tf.Variable;
}

/** ×2 nearest upsampling of [b, h, w, c] by broadcasting (its gradient is a sum, on every backend). */
export function upsample2(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.tidy(() => tf.reshape(tf.mul(tf.reshape(x, [b, h, 1, w, 1, c]), tf.ones([1, 1, 2, 1, 2, 1])), [b, 2 * h, 2 * w, c]) as tf.Tensor4D);
}

/** ×2 average pooling of [b, h, w, c] (h, w even) as a mean over 2 × 2 cells. */
export function downsample2(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.tidy(() => tf.mean(tf.reshape(x, [b, h / 2, 2, w / 2, 2, c]), [2, 4]) as tf.Tensor4D);
}

function resize(x: tf.Tensor4D, times: number, how: (x: tf.Tensor4D) => tf.Tensor4D): tf.Tensor4D {
  let y = x;
  for (let i = 0; i < times; i++) y = how(y);
  return y;
}

/** Pixel norm (Karras et al. §4.2): each pixel's feature vector scaled to unit mean square. */
function pixelNorm(x: tf.Tensor4D): tf.Tensor4D {
  return tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), 3, true), PIXEL_NORM_EPSILON))) as tf.Tensor4D;
}

export class ProgressiveNetwork implements Network {
  readonly conditioning = null;
  readonly virtualBatchNorm = false;
  readonly outputSize: number;
  private growth: Growth = { stage: 0, alpha: 1 };
  private readonly named: NamedVariable[] = [];
  /** The side of block i's images, lowest first. */
  private readonly sides: number[];
  private readonly imageChannels: number;
  // G: dense to the lowest resolution, per block two 3×3 convs (block 0: one, after the dense), toRGB per block.
  // D: fromRGB per block, per block two 3×3 convs (block 0: one, then the dense output).
  private readonly dense: { kernel: tf.Variable; bias: tf.Variable };
  private readonly blocks: Conv[][] = [];
  private readonly rgb: Conv[] = [];

  constructor(
    readonly scope: string,
    private readonly role: 'generator' | 'discriminator',
    config: ProgressiveNetworkConfig,
    latentSize: number,
    dataShape: readonly number[],
    random: Random,
    outputs: number,
  ) {
    const [height, width, channels] = dataShape;
    const blocks = config.channels.length;
    const factor = 2 ** (blocks - 1);
    if (dataShape.length !== 3 || height !== width || height % factor !== 0) {
      throw new NetworkShapeError(
        `${role}.channels: ${blocks} blocks need square images whose side divides by ${factor} (the side halves at each block); the data is [${dataShape.join(', ')}]`,
      );
    }
    this.imageChannels = channels;
    this.sides = config.channels.map((_, i) => (height / factor) * 2 ** i);
    this.outputSize = role === 'generator' ? height * width * channels : outputs;
    const init = config.init;
    const weights = (shape: number[], fanIn: number) => initial(random, init, shape, fanIn);
    const conv = (size: number, inChannels: number, outChannels: number, name: string): Conv => {
      const fanIn = size * size * inChannels;
      const made = tf.tidy(() => ({ kernel: tf.variable(weights([size, size, inChannels, outChannels], fanIn)), bias: tf.variable(tf.zeros([outChannels])) }));
      this.named.push({ name: `${name}/kernel`, variable: made.kernel }, { name: `${name}/bias`, variable: made.bias });
      return made;
    };
    const low = this.sides[0];
    const c = config.channels;
    if (role === 'generator') {
      const units = low * low * c[0];
      this.dense = tf.tidy(() => ({ kernel: tf.variable(weights([latentSize, units], latentSize)), bias: tf.variable(tf.zeros([units])) }));
      this.named.push({ name: `${scope}/dense/kernel`, variable: this.dense.kernel }, { name: `${scope}/dense/bias`, variable: this.dense.bias });
      c.forEach((filters, i) => {
        const inFilters = i === 0 ? filters : c[i - 1];
        this.blocks.push(
          i === 0
            ? [conv(3, filters, filters, `${scope}/block0/conv0`)]
            : [conv(3, inFilters, filters, `${scope}/block${i}/conv0`), conv(3, filters, filters, `${scope}/block${i}/conv1`)],
        );
        this.rgb.push(conv(1, filters, channels, `${scope}/toRGB${i}`));
      });
    } else {
      c.forEach((filters, i) => {
        this.rgb.push(conv(1, channels, filters, `${scope}/fromRGB${i}`));
        // Block i (i > 0) maps its resolution's c[i] maps to c[i − 1] at half the side.
        this.blocks.push(
          i === 0
            ? [conv(3, filters, filters, `${scope}/block0/conv0`)]
            : [conv(3, filters, filters, `${scope}/block${i}/conv0`), conv(3, filters, c[i - 1], `${scope}/block${i}/conv1`)],
        );
      });
      const units = low * low * c[0];
      this.dense = tf.tidy(() => ({ kernel: tf.variable(weights([units, outputs], units)), bias: tf.variable(tf.zeros([outputs])) }));
      this.named.push({ name: `${scope}/dense/kernel`, variable: this.dense.kernel }, { name: `${scope}/dense/bias`, variable: this.dense.bias });
    }
  }

  get blockCount(): number {
    return this.sides.length;
  }

  /** Where the schedule stands (set by the Gan before each step and before sampling). */
  setGrowth(growth: Growth): void {
    this.growth = { stage: Math.min(this.sides.length - 1, Math.max(0, growth.stage)), alpha: Math.min(1, Math.max(0, growth.alpha)) };
  }

  /**
   * Real images during a fade-in (Karras et al. 2018, Fig. 2): α·x + (1 − α)·(x at the previous
   * resolution, enlarged), so D cannot tell them from G's blended images by their detail alone.
   * Returns x itself when no block is fading in.
   */
  fadeReal(x: tf.Tensor2D): tf.Tensor2D {
    const { stage, alpha } = this.growth;
    if (stage === 0 || alpha >= 1) return x;
    return tf.tidy(() => {
      const side = this.sides[this.sides.length - 1];
      const image = tf.reshape(x, [x.shape[0], side, side, this.imageChannels]) as tf.Tensor4D;
      const times = this.sides.length - stage;
      const coarse = resize(resize(image, times, downsample2), times, upsample2);
      return tf.reshape(tf.add(tf.mul(image, alpha), tf.mul(coarse, 1 - alpha)), x.shape) as tf.Tensor2D;
    });
  }

  private convolve(x: tf.Tensor4D, layer: Conv, activate: boolean): tf.Tensor4D {
    const y = tf.add(tf.conv2d(x, layer.kernel as tf.Tensor4D, 1, 'same'), layer.bias) as tf.Tensor4D;
    return activate ? (tf.leakyRelu(y, SLOPE) as tf.Tensor4D) : y;
  }

  /**
   * tfjs's Adam keeps its moments by the position of a gradient in the list it is given, so every
   * variable must get one on every step: the blocks not grown yet join the output times 0.
   */
  private unusedTerm(used: Set<tf.Variable>): tf.Scalar | null {
    const unused = this.named.map(({ variable }) => variable).filter((v) => !used.has(v));
    if (unused.length === 0) return null;
    return tf.mul(tf.addN(unused.map((v) => tf.sum(v))), 0) as tf.Scalar;
  }

  apply(x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    void training;
    return tf.tidy(() => (this.role === 'generator' ? this.generate(x) : this.judge(x)));
  }

  private generate(z: tf.Tensor2D): tf.Tensor2D {
    const { stage, alpha } = this.growth;
    const batch = z.shape[0];
    const used = new Set<tf.Variable>([this.dense.kernel, this.dense.bias]);
    const low = this.sides[0];
    const filters0 = this.blocks[0][0].kernel.shape[2] as number;
    let h = pixelNorm(tf.leakyRelu(tf.reshape(tf.add(tf.matMul(z, this.dense.kernel), this.dense.bias), [batch, low, low, filters0]), SLOPE) as tf.Tensor4D);
    let previous: tf.Tensor4D | null = null;
    for (let i = 0; i <= stage; i++) {
      if (i > 0) {
        previous = h;
        h = upsample2(h);
      }
      for (const layer of this.blocks[i]) {
        h = pixelNorm(this.convolve(h, layer, true));
        used.add(layer.kernel).add(layer.bias);
      }
    }
    const toRgb = (features: tf.Tensor4D, i: number) => {
      used.add(this.rgb[i].kernel).add(this.rgb[i].bias);
      return tf.tanh(this.convolve(features, this.rgb[i], false)) as tf.Tensor4D;
    };
    let image = toRgb(h, stage);
    if (previous && alpha < 1) image = tf.add(tf.mul(upsample2(toRgb(previous, stage - 1)), 1 - alpha), tf.mul(image, alpha)) as tf.Tensor4D;
    const full = resize(image, this.sides.length - 1 - stage, upsample2);
    let out = tf.reshape(full, [batch, this.outputSize]) as tf.Tensor2D;
    const zero = this.unusedTerm(used);
    if (zero) out = tf.add(out, zero) as tf.Tensor2D;
    return out;
  }

  /** D's features before its dense output, [batch, values] (feature matching reads these). */
  private judgeFeatures(x: tf.Tensor2D, used: Set<tf.Variable>): tf.Tensor2D {
    const { stage, alpha } = this.growth;
    const batch = x.shape[0];
    const side = this.sides[this.sides.length - 1];
    const image = resize(tf.reshape(x, [batch, side, side, this.imageChannels]) as tf.Tensor4D, this.sides.length - 1 - stage, downsample2);
    const fromRgb = (input: tf.Tensor4D, i: number) => {
      used.add(this.rgb[i].kernel).add(this.rgb[i].bias);
      return this.convolve(input, this.rgb[i], true);
    };
    let h = fromRgb(image, stage);
    for (let i = stage; i >= 0; i--) {
      for (const layer of this.blocks[i]) {
        h = this.convolve(h, layer, true);
        used.add(layer.kernel).add(layer.bias);
      }
      if (i > 0) {
        h = downsample2(h);
        // Fading in: the new block's path mixed with the previous resolution's fromRGB on the pooled image.
        if (i === stage && alpha < 1) h = tf.add(tf.mul(fromRgb(downsample2(image), stage - 1), 1 - alpha), tf.mul(h, alpha)) as tf.Tensor4D;
      }
    }
    return tf.reshape(h, [batch, -1]) as tf.Tensor2D;
  }

  private judge(x: tf.Tensor2D): tf.Tensor2D {
    const used = new Set<tf.Variable>([this.dense.kernel, this.dense.bias]);
    const features = this.judgeFeatures(x, used);
    let out = tf.add(tf.matMul(features, this.dense.kernel), this.dense.bias) as tf.Tensor2D;
    const zero = this.unusedTerm(used);
    if (zero) out = tf.add(out, zero) as tf.Tensor2D;
    return out;
  }

  features(x: tf.Tensor2D, training: boolean, layerIndex: number): tf.Tensor2D {
    void training;
    if (this.role !== 'discriminator' || layerIndex !== 0) {
      throw new NetworkShapeError(`${this.role}: a progressive network has one feature layer, 0 (D's features before its dense output)`);
    }
    return tf.tidy(() => {
      const used = new Set<tf.Variable>([this.dense.kernel, this.dense.bias]);
      const features = this.judgeFeatures(x, used);
      const zero = this.unusedTerm(used);
      return zero ? (tf.add(features, zero) as tf.Tensor2D) : features;
    });
  }

  spectralNormUpdate(): tf.Scalar | null {
    return null;
  }

  setVirtualReference(): void {
    throw new Error('a progressive network has no virtual batch norm');
  }

  trainableVariables(): tf.Variable[] {
    return this.named.map(({ variable }) => variable);
  }

  namedVariables(): NamedVariable[] {
    return [...this.named];
  }

  dispose(): void {
    for (const { variable } of this.named) variable.dispose();
  }
}

function initial(random: Random, init: InitConfig, shape: number[], fanIn: number): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (init.type === 'normal') {
    const values = random.fillNormal(new Float32Array(size));
    for (let i = 0; i < size; i++) values[i] *= init.std;
    return tf.tensor(values, shape);
  }
  const bound = 1 / Math.sqrt(fanIn);
  return tf.tensor(random.fillUniform(new Float32Array(size), -bound, bound), shape);
}

export function isProgressive(config: NetworkConfig): config is ProgressiveNetworkConfig {
  return config.type === 'progressive';
}
