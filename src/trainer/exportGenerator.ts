/**
 * Exports a run's generator, at one of its checkpoints, as a TensorFlow.js Layers model
 * (model.json + one weights shard) that `tf.loadLayersModel` reads, so G can be used without this
 * code. The JSON is written by hand (tfjs-layers is not a runtime dependency), in the form
 * tfjs-layers 4.x itself gives a Sequential model, layer configs and weight names included. The
 * generator of a conditional GAN has two inputs, so it is written as a functional model instead:
 * inputs `z` [latent] and `label` [classes] (one-hot), a Concatenate, then the same layers;
 * `model.predict([z, oneHot])`.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import writeFileAtomic from 'write-file-atomic';
import type { LayersNetworkConfig, MlpNetworkConfig } from '../protocol/config';
import { layerShapes } from '../protocol/layersConfig';
import type { BackendChoice } from '../protocol/runDirectory';
import type { DataSource } from './data';
import type { Gan } from './gan';
import { BATCH_NORM_EPSILON } from './batchNorm';
import { restoreRun } from './sample';
import type { OutputActivation } from './mlp';

export class ExportError extends Error {}

export interface ExportOptions {
  runDir: string;
  step: number | 'latest';
  outDir: string;
  backend: BackendChoice;
  warn?(message: string): void;
}

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'group1-shard1of1.bin';

/** tfjs-layers' BatchNormalization takes the trainer's epsilon, but its momentum weighs the old average (Keras convention): 1 − PyTorch's 0.1. */
const KERAS_BATCH_NORM_MOMENTUM = 0.9;

interface LayerJson {
  class_name: string;
  config: Record<string, unknown>;
}

interface WeightJson {
  name: string;
  shape: number[];
  dtype: 'float32';
}

/** tfjs-layers' default initializers, written out as it does (they do not matter once weights load). */
const zeros = { class_name: 'Zeros', config: {} };
const ones = { class_name: 'Ones', config: {} };
const glorotNormal = { class_name: 'VarianceScaling', config: { scale: 1, mode: 'fan_avg', distribution: 'normal', seed: null } };

/**
 * Builds the Sequential topology and its weights together, so each weight gets the name
 * tfjs-layers gives it on load (`<layer name>/<weight>`): loadLayersModel matches weights by name.
 */
class SequentialBuilder {
  readonly layers: LayerJson[] = [];
  readonly weights: { spec: WeightJson; values: Float32Array }[] = [];
  private readonly counts = new Map<string, number>();

  constructor(readonly inputSize: number) {}

  /** tfjs-layers' default layer names: `dense_Dense1`, `batch_normalization_BatchNormalization1`, … */
  private name(className: string, prefix: string): string {
    const n = (this.counts.get(className) ?? 0) + 1;
    this.counts.set(className, n);
    return `${prefix}_${className}${n}`;
  }

  private add(className: string, name: string, config: Record<string, unknown>, trainable = true): void {
    const first = this.layers.length === 0 ? { batch_input_shape: [null, this.inputSize], dtype: 'float32' } : {};
    this.layers.push({ class_name: className, config: { ...config, name, trainable, ...first } });
  }

  private weight(layer: string, weight: string, shape: number[], values: Float32Array): void {
    if (values.length !== shape.reduce((a, b) => a * b, 1)) throw new ExportError(`${layer}/${weight}: ${values.length} values for shape [${shape}]`);
    this.weights.push({ spec: { name: `${layer}/${weight}`, shape, dtype: 'float32' }, values });
  }

  dense(kernel: Float32Array, bias: Float32Array, inputs: number, units: number, options: { name?: string; trainable?: boolean } = {}): void {
    const name = options.name ?? this.name('Dense', 'dense');
    this.add(
      'Dense',
      name,
      {
        units,
        activation: 'linear',
        use_bias: true,
        kernel_initializer: glorotNormal,
        bias_initializer: zeros,
        kernel_regularizer: null,
        bias_regularizer: null,
        activity_regularizer: null,
        kernel_constraint: null,
        bias_constraint: null,
      },
      options.trainable ?? true,
    );
    this.weight(name, 'kernel', [inputs, units], kernel);
    this.weight(name, 'bias', [units], bias);
  }

  batchNorm(gamma: Float32Array, beta: Float32Array, mean: Float32Array, variance: Float32Array): void {
    const name = this.name('BatchNormalization', 'batch_normalization');
    this.add('BatchNormalization', name, {
      axis: -1,
      momentum: KERAS_BATCH_NORM_MOMENTUM,
      epsilon: BATCH_NORM_EPSILON,
      center: true,
      scale: true,
      beta_initializer: zeros,
      gamma_initializer: ones,
      moving_mean_initializer: zeros,
      moving_variance_initializer: ones,
      beta_regularizer: null,
      gamma_regularizer: null,
      beta_constraint: null,
      gamma_constraint: null,
    });
    const units = [gamma.length];
    this.weight(name, 'gamma', units, gamma);
    this.weight(name, 'beta', units, beta);
    this.weight(name, 'moving_mean', units, mean);
    this.weight(name, 'moving_variance', units, variance);
  }

  /** A Conv2D or Conv2DTranspose layer; kernels are laid out as tfjs-core's (and so tfjs-layers') filters. */
  conv(
    className: 'Conv2D' | 'Conv2DTranspose',
    kernel: Float32Array,
    kernelShape: number[],
    bias: Float32Array | null,
    layer: { filters: number; kernel: number; stride: number; padding: 'same' | 'valid' },
  ): void {
    const name = this.name(className, className === 'Conv2D' ? 'conv2d' : 'conv2d_transpose');
    this.add(className, name, {
      filters: layer.filters,
      kernel_size: [layer.kernel, layer.kernel],
      strides: [layer.stride, layer.stride],
      padding: layer.padding,
      data_format: 'channels_last',
      dilation_rate: [1, 1],
      activation: 'linear',
      use_bias: bias !== null,
      kernel_initializer: glorotNormal,
      bias_initializer: zeros,
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
    });
    this.weight(name, 'kernel', kernelShape, kernel);
    if (bias) this.weight(name, 'bias', [layer.filters], bias);
  }

  reshape(shape: number[]): void {
    this.add('Reshape', this.name('Reshape', 'reshape'), { target_shape: shape });
  }

  /** A hidden or output activation as its own layer; nothing for linear. */
  activation(activation: MlpNetworkConfig['activation'] | OutputActivation, leakyReluSlope: number): void {
    if (activation === 'linear') return;
    if (activation === 'leakyRelu') {
      this.add('LeakyReLU', this.name('LeakyReLU', 'leaky_re_lu'), { alpha: leakyReluSlope });
      return;
    }
    // relu, tanh, sigmoid and elu (α = 1, as tf.elu) have the same names in tfjs-layers.
    this.add('Activation', this.name('Activation', 'activation'), { activation });
  }
}

/** Magnitude of the probes of toDataSpace: a power of two, so dividing it out is exact and rounding of the offset is diluted. */
const PROBE = 1024;

/**
 * toDataSpace as an affine map x·K + b (kernel [d, d], row-major), or null when it is the identity.
 * Found by probing with zeros and scaled unit vectors rather than by reading the data class, so it
 * stays right whatever that class does; a map that is not affine cannot be exported and throws.
 */
export function dataSpaceAffine(data: DataSource): { kernel: Float32Array; bias: Float32Array } | null {
  const d = data.dimension;
  // Rows: 0, PROBE·e_1 … PROBE·e_d, then a check vector with mixed signs.
  const probe = new Float32Array((d + 2) * d);
  for (let j = 0; j < d; j++) probe[(1 + j) * d + j] = PROBE;
  const check = Array.from({ length: d }, (_, j) => (j % 5) * 0.75 - 1.25);
  probe.set(check, (d + 1) * d);
  const out = data.toDataSpace(probe);
  const bias = Float64Array.from(out.subarray(0, d));
  const kernel = new Float64Array(d * d);
  let identity = bias.every((b) => b === 0);
  for (let j = 0; j < d; j++) {
    for (let k = 0; k < d; k++) {
      kernel[j * d + k] = (out[(1 + j) * d + k] - bias[k]) / PROBE;
      if (kernel[j * d + k] !== (j === k ? 1 : 0)) identity = false;
    }
  }
  for (let k = 0; k < d; k++) {
    let expected = bias[k];
    let magnitude = Math.abs(bias[k]);
    for (let j = 0; j < d; j++) {
      expected += check[j] * kernel[j * d + k];
      magnitude += Math.abs(check[j] * kernel[j * d + k]);
    }
    if (Math.abs(out[(d + 1) * d + k] - expected) > 1e-4 * (1 + magnitude)) {
      throw new ExportError('the data mapping (toDataSpace) is not affine, so it cannot be exported as a Dense layer');
    }
  }
  return identity ? null : { kernel: Float32Array.from(kernel), bias: Float32Array.from(bias) };
}

/** The generator's layers and weights, read from its variables by their checkpoint names. */
async function buildGenerator(gan: Gan, dataSpace: ReturnType<typeof dataSpaceAffine>): Promise<SequentialBuilder> {
  const config = gan.config.generator;
  const variables = new Map(gan.generator.namedVariables().map(({ name, variable }) => [name, variable]));
  const read = async (name: string): Promise<Float32Array> => {
    const variable = variables.get(`${gan.generator.scope}/${name}`);
    if (!variable) throw new ExportError(`the generator has no variable ${name}`);
    return Float32Array.from(await variable.data());
  };
  // A conditional G reads [z; one-hot y]: its first layer's input is latent + classes wide.
  const inputSize = gan.config.latent.size + gan.classes;
  const builder = new SequentialBuilder(inputSize);
  if (config.type === 'progressive') throw new ExportError('a progressive generator cannot be exported as a Layers model yet (use gan-workbench sample)');
  if (config.type === 'layers') {
    if (dataSpace) throw new ExportError('a layers generator on standardized data cannot be exported yet');
    await buildLayers(builder, config, inputSize, read);
    return builder;
  }
  let inputs = inputSize;
  for (let i = 0; i < config.depth; i++) {
    builder.dense(await read(`dense${i}/kernel`), await read(`dense${i}/bias`), inputs, config.width);
    if (config.batchNorm) {
      const norm = `norm${i}`;
      builder.batchNorm(await read(`${norm}/gamma`), await read(`${norm}/beta`), await read(`${norm}/runningMean`), await read(`${norm}/runningVariance`));
    }
    builder.activation(config.activation, config.leakyReluSlope);
    inputs = config.width;
  }
  const outputs = gan.generator.outputSize;
  builder.dense(await read('output/kernel'), await read('output/bias'), inputs, outputs);
  // Private in Mlp; read rather than assumed, so a change in how Gan builds G is exported right.
  builder.activation((gan.generator as unknown as { outputActivation: OutputActivation }).outputActivation, config.leakyReluSlope);
  if (dataSpace) builder.dense(dataSpace.kernel, dataSpace.bias, outputs, outputs, { name: 'to_data_space', trainable: false });
  return builder;
}

/** A `layers` generator, layer by layer; each layer's variables have the names LayerNetwork gives them. */
async function buildLayers(
  builder: SequentialBuilder,
  config: LayersNetworkConfig,
  latentSize: number,
  read: (name: string) => Promise<Float32Array>,
): Promise<void> {
  const shapes = layerShapes(config.layers, [latentSize]);
  let shape = [latentSize];
  for (const [i, layer] of config.layers.entries()) {
    const prefix = `layer${i}-${layer.type}`;
    const size = shape.reduce((a, b) => a * b, 1);
    switch (layer.type) {
      case 'dense':
        if (shape.length > 1) builder.reshape([size]);
        builder.dense(await read(`${prefix}/kernel`), layer.bias ? await read(`${prefix}/bias`) : new Float32Array(layer.units), size, layer.units);
        break;
      case 'conv2d':
        builder.conv(
          'Conv2D',
          await read(`${prefix}/kernel`),
          [layer.kernel, layer.kernel, shape[2], layer.filters],
          layer.bias ? await read(`${prefix}/bias`) : null,
          layer,
        );
        break;
      case 'conv2dTranspose':
        builder.conv(
          'Conv2DTranspose',
          await read(`${prefix}/kernel`),
          [layer.kernel, layer.kernel, layer.filters, shape[2]],
          layer.bias ? await read(`${prefix}/bias`) : null,
          layer,
        );
        break;
      case 'batchNorm':
        builder.batchNorm(
          await read(`${prefix}/gamma`),
          await read(`${prefix}/beta`),
          await read(`${prefix}/runningMean`),
          await read(`${prefix}/runningVariance`),
        );
        break;
      case 'leakyRelu':
        builder.activation('leakyRelu', layer.slope);
        break;
      case 'relu':
      case 'tanh':
      case 'sigmoid':
      case 'elu':
        builder.activation(layer.type, 0);
        break;
      case 'reshape':
      case 'flatten':
        builder.reshape(shapes[i]);
        break;
    }
    shape = shapes[i];
  }
}

type LayerRef = [string, number, number];

/**
 * The Sequential layers as a functional model (tfjs-layers' `Model` topology) with two inputs,
 * `z` and `label`, concatenated in that order, as the conditional G concatenates them.
 */
export function conditionalTopology(layers: readonly LayerJson[], latentSize: number, classes: number): Record<string, unknown> {
  const input = (name: string, width: number) => ({
    name,
    class_name: 'InputLayer',
    config: { batch_input_shape: [null, width], dtype: 'float32', sparse: false, name },
    inbound_nodes: [],
  });
  const ref = (name: string): [string, number, number, Record<string, never>] => [name, 0, 0, {}];
  const concat = 'concatenate_Concatenate1';
  const nodes: Record<string, unknown>[] = [
    input('z', latentSize),
    input('label', classes),
    { name: concat, class_name: 'Concatenate', config: { axis: -1, name: concat, trainable: true }, inbound_nodes: [[ref('z'), ref('label')]] },
  ];
  let previous = concat;
  for (const layer of layers) {
    // The input shape is the InputLayers' now.
    const { batch_input_shape: _shape, dtype: _dtype, ...config } = layer.config;
    const name = String(config.name);
    nodes.push({ name, class_name: layer.class_name, config, inbound_nodes: [[ref(previous)]] });
    previous = name;
  }
  const inputs: LayerRef[] = [
    ['z', 0, 0],
    ['label', 0, 0],
  ];
  return { name: 'generator', layers: nodes, input_layers: inputs, output_layers: [[previous, 0, 0] satisfies LayerRef] };
}

export async function exportGenerator(options: ExportOptions): Promise<{ step: number; files: string[] }> {
  const { runDir, config, data, gan, step, dispose } = await restoreRun(options, (message) => new ExportError(message));
  try {
    if (data.columns) {
      throw new ExportError(
        'the run has categorical columns (data.categorical): their argmax is not a Dense layer, so the generator cannot be exported yet (use `sample`)',
      );
    }
    const dataSpace = dataSpaceAffine(data);
    // A run that keeps an average of G's weights samples from it, so that is what is exported.
    const builder = await (gan.generatorAverage ? gan.generatorAverage.withAverage(() => buildGenerator(gan, dataSpace)) : buildGenerator(gan, dataSpace));
    const weightData = new Float32Array(builder.weights.reduce((n, w) => n + w.values.length, 0));
    let offset = 0;
    for (const { values } of builder.weights) {
      weightData.set(values, offset);
      offset += values.length;
    }
    const model = {
      format: 'layers-model',
      generatedBy: `GAN Workbench (tfjs-core ${tf.version_core})`,
      convertedBy: null,
      modelTopology: {
        ...(gan.classes
          ? { class_name: 'Model', config: conditionalTopology(builder.layers, config.latent.size, gan.classes) }
          : { class_name: 'Sequential', config: { name: 'generator', layers: builder.layers } }),
        // tfjs-layers is released in step with tfjs-core; this is the version the format follows.
        keras_version: `tfjs-layers ${tf.version_core}`,
        backend: 'tensor_flow.js',
      },
      weightsManifest: [{ paths: [WEIGHTS_FILE], weights: builder.weights.map((w) => w.spec) }],
      userDefinedMetadata: {
        step,
        // A run directory's name is its run id.
        runId: path.basename(runDir),
        configName: config.name,
        latent: { size: config.latent.size, distribution: config.latent.distribution },
        dataType: config.data.type,
        dataDimension: data.dimension,
        // Conditional GANs: the model's second input is the one-hot label over these classes, in this order.
        ...(gan.classes ? { conditional: { inputs: ['z', 'label'], classNames: [...data.classNames] } } : {}),
      },
    };

    const outDir = path.resolve(options.outDir);
    await mkdir(outDir, { recursive: true });
    const modelFile = path.join(outDir, MODEL_FILE);
    const weightsFile = path.join(outDir, WEIGHTS_FILE);
    // The shard first, so a fresh export never has a model.json without its weights.
    await writeFileAtomic(weightsFile, Buffer.from(weightData.buffer, weightData.byteOffset, weightData.byteLength));
    await writeFileAtomic(modelFile, JSON.stringify(model, null, 2) + '\n');
    return { step, files: [modelFile, weightsFile] };
  } finally {
    dispose();
  }
}
