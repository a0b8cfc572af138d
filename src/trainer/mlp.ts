/**
 * A multilayer perceptron written on tfjs-core variables, so every parameter and every piece of
 * state (batch-norm running averages) is named and can be checkpointed and restored exactly.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BATCH_NORM_EPSILON, trainingBatchNorm, type BatchNormVariables } from './batchNorm';
import type { MlpNetworkConfig } from '../protocol/config';
import type { Conditioning } from './conditioning';
import { checkLabels } from './conditioning';
import { minibatchDiscrimination, SpectralNorm, updateSpectralNorms } from './improvements';
import type { Random } from './random';

export interface NamedVariable {
  name: string;
  variable: tf.Variable;
}

interface DenseLayer {
  kernel: tf.Variable;
  bias: tf.Variable;
}

type BatchNormLayer = BatchNormVariables;

export type OutputActivation = 'linear' | 'tanh' | 'sigmoid';

/** PyTorch's default Linear initialisation: U(-1/√fan_in, 1/√fan_in) for weights and biases. */
function uniformInit(random: Random, shape: number[], fanIn: number): tf.Tensor {
  const bound = 1 / Math.sqrt(fanIn);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(random.fillUniform(new Float32Array(size), -bound, bound), shape);
}

export class Mlp {
  private readonly hidden: { dense: DenseLayer; norm: BatchNormLayer | null }[] = [];
  private readonly output: DenseLayer;
  /** Minibatch discrimination's T [A, B·C] before the output layer (Salimans et al. 2016), when configured. */
  private readonly minibatch: tf.Variable | null = null;
  /** Spectral normalization of each kernel (hidden layers, then the output), when configured. */
  private readonly spectral = new Map<tf.Variable, SpectralNorm>();
  /** Virtual batch norm's reference batch [R, input] (set by the Gan; checkpointed), when batchNorm is "virtual". */
  private reference: tf.Variable | null = null;

  constructor(
    readonly scope: string,
    private readonly config: MlpNetworkConfig,
    readonly inputSize: number,
    readonly outputSize: number,
    private readonly outputActivation: OutputActivation,
    random: Random,
    /** A conditional network's one-hot label, concatenated to its input row (the first layer's fan-in grows by `classes`). */
    readonly conditioning: Conditioning | null = null,
  ) {
    let fanIn = inputSize + (conditioning?.classes ?? 0);
    for (let i = 0; i < config.depth; i++) {
      const dense = this.makeDense(random, fanIn, config.width);
      // (Inside tidy: tf.variable keeps its own reference, the initial values are freed.)
      const norm = config.batchNorm
        ? tf.tidy(() => ({
            gamma: tf.variable(tf.ones([config.width])),
            beta: tf.variable(tf.zeros([config.width])),
            runningMean: tf.variable(tf.zeros([config.width]), false),
            runningVariance: tf.variable(tf.ones([config.width]), false),
          }))
        : null;
      this.hidden.push({ dense, norm });
      fanIn = config.width;
    }
    const mbd = config.minibatchDiscrimination;
    if (mbd) {
      const a = fanIn;
      this.minibatch = tf.tidy(() => tf.variable(uniformInit(random, [a, mbd.kernels * mbd.dimension], a)));
      fanIn += mbd.kernels;
    }
    this.output = this.makeDense(random, fanIn, outputSize);
    // (u is drawn after every weight, so the weights do not depend on the option.)
    if (config.spectralNorm)
      for (const { kernel } of [...this.hidden.map((h) => h.dense), this.output]) this.spectral.set(kernel, new SpectralNorm(kernel, random));
  }

  /** A kernel as the forward pass uses it: W/σ(W) under spectral normalization. */
  private weight(kernel: tf.Variable): tf.Tensor2D {
    const norm = this.spectral.get(kernel);
    return (norm ? norm.normalized() : kernel) as tf.Tensor2D;
  }

  /** One power iteration on every normalized kernel (once per update); the largest σ(W) estimate, or null without spectral norm. */
  spectralNormUpdate(): tf.Scalar | null {
    return updateSpectralNorms([...this.spectral.values()]);
  }

  private makeDense(random: Random, fanIn: number, units: number): DenseLayer {
    return tf.tidy(() => ({
      kernel: tf.variable(uniformInit(random, [fanIn, units], fanIn)),
      bias: tf.variable(uniformInit(random, [units], fanIn)),
    }));
  }

  private activate(x: tf.Tensor2D): tf.Tensor2D {
    switch (this.config.activation) {
      case 'relu':
        return tf.relu(x);
      case 'leakyRelu':
        return tf.leakyRelu(x, this.config.leakyReluSlope);
      case 'tanh':
        return tf.tanh(x);
      case 'sigmoid':
        return tf.sigmoid(x);
      case 'elu':
        return tf.elu(x);
      case 'linear':
        return x;
    }
  }

  get virtualBatchNorm(): boolean {
    return this.config.batchNorm === 'virtual';
  }

  setVirtualReference(x: tf.Tensor2D): void {
    if (!this.virtualBatchNorm) throw new Error(`${this.scope}: has no virtual batch norm`);
    this.reference?.dispose();
    this.reference = tf.variable(x, false);
  }

  private normalize(x: tf.Tensor2D, norm: BatchNormLayer, training: boolean): tf.Tensor2D {
    if (!training) {
      return tf.batchNorm(x, norm.runningMean, norm.runningVariance, norm.beta, norm.gamma, BATCH_NORM_EPSILON) as tf.Tensor2D;
    }
    return trainingBatchNorm(x, norm, this.reference ? this.reference.shape[0] : null);
  }

  /**
   * Forward pass. `training` uses batch statistics in batch norm (and updates the running
   * averages); otherwise the running averages are used.
   */
  apply(x: tf.Tensor2D, training: boolean, labels?: tf.Tensor2D): tf.Tensor2D {
    checkLabels(this.scope, this.conditioning, x, labels);
    return tf.tidy(() => {
      let h = this.hiddenFeatures(x, training, this.hidden.length - 1, labels);
      const mbd = this.config.minibatchDiscrimination;
      if (this.minibatch && mbd) h = minibatchDiscrimination(h, this.minibatch as tf.Tensor2D, mbd.kernels, mbd.dimension);
      const out = tf.add(tf.matMul(h, this.weight(this.output.kernel)), this.output.bias) as tf.Tensor2D;
      if (this.outputActivation === 'tanh') return tf.tanh(out);
      if (this.outputActivation === 'sigmoid') return tf.sigmoid(out);
      return out;
    });
  }

  /** The activations of hidden layer `layer` (0-based; -1: the input row, with its label), [batch, width]. */
  private hiddenFeatures(x: tf.Tensor2D, training: boolean, layer: number, labels?: tf.Tensor2D): tf.Tensor2D {
    let h = labels && this.conditioning ? tf.concat([x, labels], 1) : x;
    // Virtual batch norm: the reference batch goes through with the examples, then is dropped.
    const reference = training && layer >= 0 ? this.reference : null;
    if (reference) h = tf.concat([reference as tf.Tensor2D, h], 0);
    for (const { dense, norm } of this.hidden.slice(0, layer + 1)) {
      h = tf.add(tf.matMul(h, this.weight(dense.kernel)), dense.bias) as tf.Tensor2D;
      if (norm) h = this.normalize(h, norm, training);
      h = this.activate(h);
    }
    return reference ? tf.slice(h, [reference.shape[0], 0], [-1, -1]) : h;
  }

  /** The activations of hidden layer `layer` (feature matching reads them); throws for a layer that does not exist. */
  features(x: tf.Tensor2D, training: boolean, layer: number, labels?: tf.Tensor2D): tf.Tensor2D {
    checkLabels(this.scope, this.conditioning, x, labels);
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.hidden.length) {
      throw new RangeError(`${this.scope}: no hidden layer ${layer} (it has ${this.hidden.length}: 0 to ${this.hidden.length - 1})`);
    }
    return tf.tidy(() => this.hiddenFeatures(x, training, layer, labels));
  }

  /** The parameters an optimizer updates, in a fixed order. */
  trainableVariables(): tf.Variable[] {
    return this.namedVariables()
      .filter(({ variable }) => variable.trainable)
      .map(({ variable }) => variable);
  }

  /** Every variable, trainable or not, with a stable name (used by checkpoints). */
  namedVariables(): NamedVariable[] {
    const named: NamedVariable[] = [];
    this.hidden.forEach(({ dense, norm }, i) => {
      named.push({ name: `${this.scope}/dense${i}/kernel`, variable: dense.kernel });
      named.push({ name: `${this.scope}/dense${i}/bias`, variable: dense.bias });
      if (norm) {
        named.push({ name: `${this.scope}/norm${i}/gamma`, variable: norm.gamma });
        named.push({ name: `${this.scope}/norm${i}/beta`, variable: norm.beta });
        named.push({ name: `${this.scope}/norm${i}/runningMean`, variable: norm.runningMean });
        named.push({ name: `${this.scope}/norm${i}/runningVariance`, variable: norm.runningVariance });
      }
    });
    if (this.minibatch) named.push({ name: `${this.scope}/minibatch/T`, variable: this.minibatch });
    if (this.reference) named.push({ name: `${this.scope}/virtualBatchNorm/reference`, variable: this.reference });
    named.push({ name: `${this.scope}/output/kernel`, variable: this.output.kernel });
    named.push({ name: `${this.scope}/output/bias`, variable: this.output.bias });
    [...this.spectral.values()].forEach((norm, i) => {
      const name = i < this.hidden.length ? `dense${i}` : 'output';
      named.push({ name: `${this.scope}/${name}/spectralU`, variable: norm.u });
    });
    return named;
  }

  dispose(): void {
    for (const { variable } of this.namedVariables()) variable.dispose();
  }
}
