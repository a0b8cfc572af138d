/**
 * A network built from the config's `layers` list (DCGAN and other conv stacks), written on
 * tfjs-core variables like Mlp, so every parameter and every running average has a stable name
 * for checkpoints. Its input and output are flat rows ([batch, values]): the Gan and the run
 * directory deal in flat samples, and each network reshapes to the image shape it needs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BATCH_NORM_EPSILON, trainingBatchNorm } from './batchNorm';
import type { NetworkConfig } from '../protocol/config';
import type { InitConfig, LayerConfig } from '../protocol/layersConfig';
import { layerShapes } from '../protocol/layersConfig';
import type { Conditioning } from './conditioning';
import { checkLabels, conditionedInputShape, joinLabels } from './conditioning';
import { ProgressiveNetwork } from './progressiveNetwork';
import { CategoricalGenerator, type CategoricalOutput } from './gumbelSoftmax';
import { minibatchDiscrimination, SpectralNorm, updateSpectralNorms } from './improvements';
import type { NamedVariable } from './mlp';
import { Mlp } from './mlp';
import type { Random } from './random';

/** What Gan needs of a network: a forward pass on flat rows and its named variables. */
export interface Network {
  readonly scope: string;
  readonly outputSize: number;
  /** The label input of a conditional network; null for an unconditional one. */
  readonly conditioning: Conditioning | null;
  /**
   * Forward pass on flat rows. A conditional network also takes each row's one-hot label,
   * [batch, classes] (soft labels work too: they are concatenated as they are).
   */
  apply(x: tf.Tensor2D, training: boolean, labels?: tf.Tensor2D): tf.Tensor2D;
  /**
   * The activations after layer `layerIndex` ([batch, values], flattened): an index into `layers`, or an mlp's hidden
   * layer. Feature matching (Salimans et al. 2016, §3.1) reads D's. Throws for a layer that does not exist.
   */
  features(x: tf.Tensor2D, training: boolean, layerIndex: number, labels?: tf.Tensor2D): tf.Tensor2D;
  /** Spectral normalization: one power iteration on each normalized kernel; the largest σ(W) estimate, or null without it. */
  spectralNormUpdate(): tf.Scalar | null;
  /** Whether the network has virtual batch norm (Salimans et al. 2016, §3.4): it then needs its reference batch. */
  readonly virtualBatchNorm: boolean;
  /** Virtual batch norm: the fixed reference batch (flat rows), kept in a non-trainable variable that checkpoints save. */
  setVirtualReference(x: tf.Tensor2D): void;
  trainableVariables(): tf.Variable[];
  namedVariables(): NamedVariable[];
  dispose(): void;
}

type Dense = { config: Extract<LayerConfig, { type: 'dense' }>; kernel: tf.Variable; bias: tf.Variable | null };
type Conv = {
  config: Extract<LayerConfig, { type: 'conv2d' | 'conv2dTranspose' }>;
  kernel: tf.Variable;
  bias: tf.Variable | null;
  inShape: number[];
  outShape: number[];
};
type Norm = {
  config: Extract<LayerConfig, { type: 'batchNorm' }>;
  gamma: tf.Variable;
  beta: tf.Variable;
  runningMean: tf.Variable;
  runningVariance: tf.Variable;
};
type Minibatch = { config: Extract<LayerConfig, { type: 'minibatchDiscrimination' }>; t: tf.Variable };
type Plain = {
  config: Exclude<LayerConfig, { type: 'dense' | 'conv2d' | 'conv2dTranspose' | 'batchNorm' | 'minibatchDiscrimination' }>;
  outShape: number[];
};
type Built = Dense | Conv | Norm | Minibatch | Plain;

export class LayerNetwork implements Network {
  private readonly layers: Built[] = [];
  readonly outputSize: number;
  /** Shape of one output sample before flattening. */
  readonly outputShape: number[];
  /** The layer whose input the labels join (`dense` conditioning), else -1. */
  private readonly labelLayer: number;
  /** Spectral normalization of the dense and conv2d kernels (Miyato et al. 2018), when asked for. */
  private readonly spectral = new Map<tf.Variable, SpectralNorm>();
  /** Virtual batch norm's reference batch [R, input] (set by the Gan; checkpointed). */
  private reference: tf.Variable | null = null;
  readonly virtualBatchNorm: boolean;

  constructor(
    readonly scope: string,
    layers: readonly LayerConfig[],
    init: InitConfig,
    /** Shape of one input sample: [latent] for G, the data's shape for D (without the labels). */
    readonly inputShape: readonly number[],
    random: Random,
    readonly conditioning: Conditioning | null = null,
    options: { spectralNorm?: boolean } = {},
  ) {
    const conditionedShape = conditionedInputShape(inputShape, conditioning);
    this.labelLayer = conditioning?.at === 'dense' ? layers.findIndex((layer) => layer.type === 'dense') : -1;
    if (conditioning?.at === 'dense' && this.labelLayer < 0) throw new NetworkShapeError(`${scope}.layers: no dense layer for the labels to join`);
    const shapes = layerShapes(layers, conditionedShape);
    let shape = conditionedShape;
    layers.forEach((config, i) => {
      const outShape = shapes[i];
      const fanInSize = shape.reduce((a, b) => a * b, 1) + (i === this.labelLayer ? conditioning!.classes : 0);
      const weights = (kernelShape: number[], fanIn: number) =>
        init.type === 'normal' ? normal(random, kernelShape, init.std) : uniform(random, kernelShape, 1 / Math.sqrt(fanIn));
      const biasOf = (units: number, fanIn: number) => (init.type === 'normal' ? tf.zeros([units]) : uniform(random, [units], 1 / Math.sqrt(fanIn)));
      // (Inside tidy: tf.variable keeps its own reference, the initial values are freed.)
      tf.tidy(() => {
        switch (config.type) {
          case 'dense':
            this.layers.push({
              config,
              kernel: tf.variable(weights([fanInSize, config.units], fanInSize)),
              bias: config.bias ? tf.variable(biasOf(config.units, fanInSize)) : null,
            });
            break;
          case 'conv2d': {
            const fanIn = config.kernel * config.kernel * shape[2];
            this.layers.push({
              config,
              kernel: tf.variable(weights([config.kernel, config.kernel, shape[2], config.filters], fanIn)),
              bias: config.bias ? tf.variable(biasOf(config.filters, fanIn)) : null,
              inShape: shape,
              outShape,
            });
            break;
          }
          case 'conv2dTranspose': {
            // tfjs's transposed-conv filter is [kh, kw, out, in]; PyTorch's fan-in for it is in·k².
            const fanIn = config.kernel * config.kernel * config.filters;
            this.layers.push({
              config,
              kernel: tf.variable(weights([config.kernel, config.kernel, config.filters, shape[2]], fanIn)),
              bias: config.bias ? tf.variable(biasOf(config.filters, fanIn)) : null,
              inShape: shape,
              outShape,
            });
            break;
          }
          case 'batchNorm': {
            const features = shape[shape.length - 1];
            this.layers.push({
              config,
              gamma: tf.variable(tf.ones([features])),
              beta: tf.variable(tf.zeros([features])),
              runningMean: tf.variable(tf.zeros([features]), false),
              runningVariance: tf.variable(tf.ones([features]), false),
            });
            break;
          }
          case 'minibatchDiscrimination': {
            const a = shape[0];
            const size = [a, config.kernels * config.dimension];
            this.layers.push({ config, t: tf.variable(init.type === 'normal' ? normal(random, size, init.std) : uniform(random, size, 1 / Math.sqrt(a))) });
            break;
          }
          default:
            this.layers.push({ config, outShape });
        }
      });
      shape = outShape;
    });
    this.outputShape = shape;
    this.outputSize = shape.reduce((a, b) => a * b, 1);
    this.virtualBatchNorm = layers.some((layer) => layer.type === 'batchNorm' && layer.virtual === true);
    // (u is drawn after every weight, so the weights do not depend on the option.)
    if (options.spectralNorm) {
      for (const layer of this.layers) {
        if (layer.config.type === 'dense' || layer.config.type === 'conv2d') {
          const { kernel } = layer as Dense | Conv;
          this.spectral.set(kernel, new SpectralNorm(kernel, random));
        }
      }
    }
  }

  /** A kernel as the forward pass uses it: W/σ(W) under spectral normalization. */
  private weight(kernel: tf.Variable): tf.Tensor {
    return this.spectral.get(kernel)?.normalized() ?? kernel;
  }

  setVirtualReference(x: tf.Tensor2D): void {
    if (!this.virtualBatchNorm) throw new Error(`${this.scope}: has no virtual batch norm`);
    this.reference?.dispose();
    this.reference = tf.variable(x, false);
  }

  spectralNormUpdate(): tf.Scalar | null {
    return updateSpectralNorms([...this.spectral.values()]);
  }

  features(x: tf.Tensor2D, training: boolean, layerIndex: number, labels?: tf.Tensor2D): tf.Tensor2D {
    checkLabels(this.scope, this.conditioning, x, labels);
    if (!Number.isInteger(layerIndex) || layerIndex < 0 || layerIndex >= this.layers.length) {
      throw new RangeError(`${this.scope}.layers: no layer ${layerIndex} (0 to ${this.layers.length - 1})`);
    }
    return tf.tidy(() => {
      const h = this.forward(x, training, layerIndex, labels);
      return (h.rank === 2 ? h : tf.reshape(h, [x.shape[0], -1])) as tf.Tensor2D;
    });
  }

  /** The layers 0 to `last`, on rows reshaped to the input shape. */
  private forward(x: tf.Tensor2D, training: boolean, last: number, labels?: tf.Tensor2D): tf.Tensor {
    // Virtual batch norm: the reference batch goes through with the examples, then is dropped.
    const reference = training ? this.reference : null;
    const rows = reference ? tf.concat([reference as tf.Tensor2D, x], 0) : x;
    const batch = rows.shape[0];
    let h: tf.Tensor = this.inputShape.length > 1 ? tf.reshape(rows, [batch, ...this.inputShape]) : rows;
    if (labels && this.conditioning?.at === 'input') h = joinLabels(h, labels);
    this.layers.slice(0, last + 1).forEach((layer, i) => {
      h = this.applyLayer(layer, h, training, i === this.labelLayer ? labels : undefined);
    });
    if (!reference) return h;
    return tf.slice(h, [reference.shape[0], ...h.shape.slice(1).map(() => 0)], [-1, ...h.shape.slice(1).map(() => -1)]);
  }

  apply(x: tf.Tensor2D, training: boolean, labels?: tf.Tensor2D): tf.Tensor2D {
    checkLabels(this.scope, this.conditioning, x, labels);
    return tf.tidy(() => {
      const batch = x.shape[0];
      const h = this.forward(x, training, this.layers.length - 1, labels);
      return (h.rank === 2 ? h : tf.reshape(h, [batch, this.outputSize])) as tf.Tensor2D;
    });
  }

  private applyLayer(layer: Built, h: tf.Tensor, training: boolean, labels?: tf.Tensor2D): tf.Tensor {
    const batch = h.shape[0];
    const c = layer.config;
    switch (c.type) {
      case 'dense': {
        const { kernel, bias } = layer as Dense;
        const flat = h.rank === 2 ? h : tf.reshape(h, [batch, -1]);
        const out = tf.matMul((labels ? tf.concat([flat, labels], 1) : flat) as tf.Tensor2D, this.weight(kernel) as tf.Tensor2D);
        return bias ? tf.add(out, bias) : out;
      }
      case 'conv2d': {
        const { kernel, bias } = layer as Conv;
        const out = tf.conv2d(h as tf.Tensor4D, this.weight(kernel) as tf.Tensor4D, c.stride, c.padding);
        return bias ? tf.add(out, bias) : out;
      }
      case 'conv2dTranspose': {
        const { kernel, bias, outShape } = layer as Conv;
        const [oh, ow, oc] = outShape;
        const out = tf.conv2dTranspose(h as tf.Tensor4D, kernel as tf.Tensor4D, [batch, oh, ow, oc], c.stride, c.padding);
        return bias ? tf.add(out, bias) : out;
      }
      case 'batchNorm':
        return this.normalize(layer as Norm, h, training);
      case 'minibatchDiscrimination':
        return minibatchDiscrimination(h as tf.Tensor2D, (layer as Minibatch).t as tf.Tensor2D, c.kernels, c.dimension);
      case 'relu':
        return tf.relu(h);
      case 'leakyRelu':
        return tf.leakyRelu(h, c.slope);
      case 'tanh':
        return tf.tanh(h);
      case 'sigmoid':
        return tf.sigmoid(h);
      case 'elu':
        return tf.elu(h);
      case 'reshape':
      case 'flatten':
        return tf.reshape(h, [batch, ...(layer as Plain).outShape]);
    }
  }

  private normalize(norm: Norm, x: tf.Tensor, training: boolean): tf.Tensor {
    if (!training) {
      const scale = tf.mul(tf.rsqrt(tf.add(norm.runningVariance, BATCH_NORM_EPSILON)), norm.gamma);
      return tf.add(tf.mul(tf.sub(x, norm.runningMean), scale), norm.beta);
    }
    return trainingBatchNorm(x, norm, norm.config.virtual && this.reference ? this.reference.shape[0] : null);
  }

  trainableVariables(): tf.Variable[] {
    return this.namedVariables()
      .filter(({ variable }) => variable.trainable)
      .map(({ variable }) => variable);
  }

  namedVariables(): NamedVariable[] {
    const named: NamedVariable[] = [];
    this.layers.forEach((layer, i) => {
      const prefix = `${this.scope}/layer${i}-${layer.config.type}`;
      if ('kernel' in layer) {
        named.push({ name: `${prefix}/kernel`, variable: layer.kernel });
        if (layer.bias) named.push({ name: `${prefix}/bias`, variable: layer.bias });
      } else if ('gamma' in layer) {
        named.push({ name: `${prefix}/gamma`, variable: layer.gamma });
        named.push({ name: `${prefix}/beta`, variable: layer.beta });
        named.push({ name: `${prefix}/runningMean`, variable: layer.runningMean });
        named.push({ name: `${prefix}/runningVariance`, variable: layer.runningVariance });
      } else if ('t' in layer) {
        named.push({ name: `${prefix}/T`, variable: layer.t });
      }
      const norm = 'kernel' in layer ? this.spectral.get(layer.kernel) : undefined;
      if (norm) named.push({ name: `${prefix}/spectralU`, variable: norm.u });
    });
    if (this.reference) named.push({ name: `${this.scope}/virtualBatchNorm/reference`, variable: this.reference });
    return named;
  }

  dispose(): void {
    for (const { variable } of this.namedVariables()) variable.dispose();
  }
}

function normal(random: Random, shape: number[], std: number): tf.Tensor {
  const values = random.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)));
  for (let i = 0; i < values.length; i++) values[i] *= std;
  return tf.tensor(values, shape);
}

function uniform(random: Random, shape: number[], bound: number): tf.Tensor {
  return tf.tensor(random.fillUniform(new Float32Array(shape.reduce((a, b) => a * b, 1)), -bound, bound), shape);
}

/**
 * Builds G or D from its config. G maps [latent] to a sample of `dataShape`; D maps a sample to
 * one score. A `layers` network whose output does not fit throws a message naming the field.
 */
export function buildNetwork(
  role: 'generator' | 'discriminator',
  config: NetworkConfig,
  latentSize: number,
  dataShape: readonly number[],
  random: Random,
  /** A conditional GAN's label input (G's always joins z). */
  conditioning: Conditioning | null = null,
  /** G for data with categorical columns: its output groups, Gumbel-softmax relaxed when configured (gumbelSoftmax.ts). */
  categorical: CategoricalOutput | null = null,
  /** D's outputs: one score, or one logit per class for a semi-supervised D. */
  discriminatorOutputs = 1,
): Network {
  if (categorical) return new CategoricalGenerator(buildNetwork(role, config, latentSize, dataShape, random, conditioning), categorical);
  const dimension = dataShape.reduce((a, b) => a * b, 1);
  const input = role === 'generator' ? [latentSize] : dataShape;
  const outputSize = role === 'generator' ? dimension : discriminatorOutputs;
  if (config.type === 'progressive') {
    if (conditioning) throw new NetworkShapeError(`${role}: a progressive network cannot be conditional yet`);
    return new ProgressiveNetwork(role, role, config, latentSize, dataShape, random, outputSize);
  }
  if (config.type === 'mlp')
    return new Mlp(
      role,
      config,
      input.reduce((a, b) => a * b, 1),
      outputSize,
      'linear',
      random,
      // An mlp's first layer reads its input: joining y at the input and at the first dense layer is the same.
      conditioning ? { classes: conditioning.classes, at: 'input' } : null,
    );
  let shapes: number[][];
  try {
    if (conditioning?.at === 'dense' && !config.layers.some((layer) => layer.type === 'dense')) {
      throw new Error('layers: conditional.discriminatorLabels "dense" needs a dense layer for the labels to join');
    }
    shapes = layerShapes(config.layers, conditionedInputShape(input, conditioning));
  } catch (error) {
    throw new NetworkShapeError(`${role}.${(error as Error).message}`);
  }
  const out = shapes[shapes.length - 1];
  const outSize = out.reduce((a, b) => a * b, 1);
  if (outSize !== outputSize) {
    const expected =
      role === 'generator'
        ? `a sample of the data's shape [${dataShape.join(', ')}] (${dimension} values)`
        : discriminatorOutputs === 1
          ? 'one score (end with a dense layer of 1 unit)'
          : `one logit per class for semiSupervised (end with a dense layer of ${discriminatorOutputs} units)`;
    throw new NetworkShapeError(`${role}.layers: the last layer gives [${out.join(', ')}] (${outSize} values) per sample; expected ${expected}`);
  }
  if (role === 'generator' && out.length > 1 && out.join() !== dataShape.join()) {
    throw new NetworkShapeError(`${role}.layers: the last layer gives images of shape [${out.join(', ')}]; the data's images are [${dataShape.join(', ')}]`);
  }
  return new LayerNetwork(role, config.layers, config.init, input, random, conditioning, { spectralNorm: config.spectralNorm });
}

/** A network that does not fit its input or output; reported like a config problem. */
export class NetworkShapeError extends Error {}
