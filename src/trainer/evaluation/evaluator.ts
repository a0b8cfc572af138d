/**
 * The evaluation while the run goes: every logging.samplesEvery steps and at the end, G's samples
 * from a fixed evaluation noise are measured against a fixed real sample, and the metrics record
 * of that step carries the result (MetricsRecord § Evaluation).
 *
 * Both samples come from their own seeded streams ('evaluation-noise', 'evaluation-sample'),
 * never the training stream, so evaluating changes nothing about training and resume stays
 * exact; and every evaluation of a run, resumed or not, sees the same noise and real sample.
 * What is measured follows the data:
 * - 2-D data: the PacGAN mode metrics for the built-in mixtures (ring, grid), the grid KL and JS,
 *   and precision/recall/density/coverage on the points (`evaluationFeatures: 'points'`); other
 *   vector data: precision/recall/density/coverage on the (normalized) rows.
 * - 28×28×1 images (mnist, idx and image folders of that shape): the MNIST classifier's classes
 *   covered, class KL and classifier score, and the Fréchet distance and precision/recall/density/
 *   coverage on its 64 features (`'mnist-classifier'`).
 * - Other images: precision/recall/density/coverage on raw pixels, and the Fréchet distance when
 *   there are at most MAX_FRECHET_DIMENSION pixels (`'pixels'`).
 * Conditional GANs get labels drawn uniformly over the classes; G's averaged weights are used when
 * training.generatorAverage is set (Gan.generate does that).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GanConfig } from '../../protocol/config';
import type { MetricsRecord } from '../../protocol/runDirectory';
import type { DataSource } from '../data';
import { modeQuality } from '../quality';
import { randomStream, type Random } from '../random';
import { argmaxClasses, classMetrics } from './classes';
import { frechetDistance, frechetReference, MAX_FRECHET_DIMENSION, type FrechetReference } from './frechet';
import { gridDivergences } from './grid';
import { manifoldMetrics, realManifold, type RealManifold } from './manifold';
import { MnistClassifier } from './mnistClassifier';

/** What the evaluator needs of the GAN (Gan has it). */
export interface EvaluatedGenerator {
  /** 0 for an unconditional GAN. */
  readonly classes: number;
  noise(count: number, random: Random): tf.Tensor2D;
  labels(count: number, random: Random): Int32Array;
  /** G's samples in the model's space, with the averaged weights when there are any. */
  generate(noise: tf.Tensor2D, labels?: ArrayLike<number>): Promise<Float32Array>;
}

export type EvaluationFields = Pick<
  MetricsRecord,
  | 'modesCovered'
  | 'highQuality'
  | 'modeReverseKl'
  | 'gridKl'
  | 'gridJs'
  | 'classesCovered'
  | 'classKl'
  | 'classifierScore'
  | 'frechetDistance'
  | 'precision'
  | 'recall'
  | 'density'
  | 'coverage'
  | 'evaluationFeatures'
>;

export interface Evaluator {
  readonly features: NonNullable<MetricsRecord['evaluationFeatures']>;
  readonly samples: number;
  /** MNIST classifier: the classes it finds in the fixed real sample (a mode-collapse alert compares with these); else null. */
  readonly realClassCount: number | null;
  evaluate(gan: EvaluatedGenerator): Promise<Partial<EvaluationFields>>;
  dispose(): void;
}

/** G's samples are made this many at a time (a DCGAN's activations for 2,000 at once are hundreds of MB). */
const GENERATE_BATCH = 250;

function isClassifierShape(shape: readonly number[]): boolean {
  return shape.length === 3 && shape[0] === 28 && shape[1] === 28 && shape[2] === 1;
}

/** The evaluation for this config and data, or null when it is turned off (logging.evaluationSamples 0). */
export async function createEvaluator(config: GanConfig, data: DataSource): Promise<Evaluator | null> {
  const samples = config.logging.evaluationSamples;
  if (!samples) return null;
  const images = data.shape.length === 3;
  const classifier = images && isClassifierShape(data.shape) ? await MnistClassifier.load() : null;
  const features: Evaluator['features'] = classifier ? 'mnist-classifier' : images ? 'pixels' : 'points';
  const real = data.sample(randomStream(config.seed, 'evaluation-sample'), samples);
  const mixture = data.modes && (config.data.type === 'ring' || config.data.type === 'grid') ? { modes: data.modes, std: config.data.std } : null;

  // The real side is measured once.
  let realFeatures: Float32Array = real;
  let realClasses: Int32Array | null = null;
  if (classifier) {
    const classified = classifier.classify(real);
    realFeatures = classified.features;
    realClasses = argmaxClasses(classified.probabilities, classifier.classes);
  }
  const featureSize = classifier ? classifier.features : data.dimension;
  const manifold: RealManifold = realManifold(realFeatures, featureSize);
  const frechet: FrechetReference | null = features !== 'points' && featureSize <= MAX_FRECHET_DIMENSION ? frechetReference(realFeatures, featureSize) : null;
  // (A CSV of categorical columns two values wide is not 2-D data.)
  const realDataSpace = data.dimension === 2 && !data.columns ? data.toDataSpace(real) : null;

  // The fixed evaluation noise (and labels), made once from its own stream; kept as numbers, so
  // the run's tensor count is the same before and after the first evaluation.
  let noise: { z: Float32Array; shape: [number, number]; labels: Int32Array | undefined }[] | null = null;
  const fixedNoise = (gan: EvaluatedGenerator) => {
    if (noise) return noise;
    const random = randomStream(config.seed, 'evaluation-noise');
    noise = [];
    for (let start = 0; start < samples; start += GENERATE_BATCH) {
      const count = Math.min(GENERATE_BATCH, samples - start);
      const z = gan.noise(count, random);
      noise.push({ z: (z.dataSync() as Float32Array).slice(), shape: [z.shape[0], z.shape[1]], labels: gan.classes ? gan.labels(count, random) : undefined });
      z.dispose();
    }
    return noise;
  };

  return {
    features,
    samples,
    realClassCount: realClasses ? new Set(realClasses).size : null,
    async evaluate(gan) {
      const fake = new Float32Array(samples * data.dimension);
      let offset = 0;
      for (const { z, shape, labels } of fixedNoise(gan)) {
        const tensor = tf.tensor2d(z, shape);
        try {
          fake.set(await gan.generate(tensor, labels), offset);
        } finally {
          tensor.dispose();
        }
        offset += shape[0] * data.dimension;
      }
      const result: Partial<EvaluationFields> = { evaluationFeatures: features };
      let fakeFeatures: Float32Array = fake;
      if (classifier && realClasses) {
        const classified = classifier.classify(fake);
        fakeFeatures = classified.features;
        Object.assign(result, classMetrics(classified.probabilities, classifier.classes, realClasses));
      }
      if (realDataSpace) {
        const points = data.toDataSpace(fake);
        if (mixture) {
          const quality = modeQuality(points, mixture.modes, mixture.std);
          Object.assign(result, { modesCovered: quality.modesCovered, highQuality: quality.highQuality, modeReverseKl: quality.reverseKl });
        }
        Object.assign(result, gridDivergences(realDataSpace, points));
      }
      if (frechet) result.frechetDistance = frechetDistance(frechet, fakeFeatures, featureSize);
      Object.assign(result, manifoldMetrics(manifold, fakeFeatures, featureSize));
      return result;
    },
    dispose() {
      noise = null;
      classifier?.dispose();
    },
  };
}
