/**
 * The 2-D laboratory's frames (after GAN Lab, Kahng et al. 2018): D over the plane, the direction
 * G's cost moves each of its samples, and G's image of a grid of noise. Computed in model space
 * (where the networks work) and handed out in data space; the data's transform is affine per
 * coordinate, so a grid in one is a grid in the other.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LaboratoryFrame } from '../protocol/runDirectory';
import type { DataSource } from './data';
import type { Gan } from './gan';
import { adversarialGeneratorCost } from './losses';
import { oneHot } from './conditioning';
import { packSamples } from './packing';
import { randomStream } from './random';

/** Cells of the surface along each axis: fine enough to look smooth once the view interpolates. */
export const SURFACE_CELLS = 40;
/** Noise grid of the manifold along each axis. */
export const MANIFOLD_CELLS = 16;
/** The view's box is the real sample's bounding box, widened by this fraction on each side. */
const MARGIN = 0.25;

const round = (v: number) => Math.round(v * 1e5) / 1e5;

export class Laboratory {
  /** Model-space box [xMin, yMin, xMax, yMax]. */
  private readonly box: [number, number, number, number];
  private readonly surfacePoints: tf.Tensor2D;
  private readonly manifoldNoise: tf.Tensor2D | null;
  private readonly dataBox: [number, number, number, number];

  constructor(
    private readonly gan: Gan,
    private readonly data: DataSource,
    /** A fixed real sample in model space, [n × 2]: its extent (widened) is the view. */
    realModelSpace: Float32Array,
  ) {
    let [xMin, yMin, xMax, yMax] = [Infinity, Infinity, -Infinity, -Infinity];
    for (let i = 0; i < realModelSpace.length; i += 2) {
      xMin = Math.min(xMin, realModelSpace[i]);
      xMax = Math.max(xMax, realModelSpace[i]);
      yMin = Math.min(yMin, realModelSpace[i + 1]);
      yMax = Math.max(yMax, realModelSpace[i + 1]);
    }
    // A square view (equal aspect, as the scatter draws it), centred on the data.
    const half = (Math.max(xMax - xMin, yMax - yMin, 1e-3) / 2) * (1 + 2 * MARGIN);
    const [cx, cy] = [(xMin + xMax) / 2, (yMin + yMax) / 2];
    this.box = [cx - half, cy - half, cx + half, cy + half];
    const corners = data.toDataSpace(Float32Array.from([this.box[0], this.box[1], this.box[2], this.box[3]]));
    this.dataBox = [round(corners[0]), round(corners[1]), round(corners[2]), round(corners[3])];
    const cells = new Float32Array(SURFACE_CELLS * SURFACE_CELLS * 2);
    for (let row = 0; row < SURFACE_CELLS; row++) {
      for (let column = 0; column < SURFACE_CELLS; column++) {
        const i = 2 * (row * SURFACE_CELLS + column);
        cells[i] = this.box[0] + ((column + 0.5) / SURFACE_CELLS) * (this.box[2] - this.box[0]);
        cells[i + 1] = this.box[1] + ((row + 0.5) / SURFACE_CELLS) * (this.box[3] - this.box[1]);
      }
    }
    this.surfacePoints = tf.tensor2d(cells, [SURFACE_CELLS * SURFACE_CELLS, 2]);
    const latent = gan.config.latent;
    if (gan.classes || latent.size < 2) {
      this.manifoldNoise = null;
    } else {
      const extent = latent.distribution === 'normal' ? 2 : 1;
      // The other coordinates: one typical draw from p_z (the first fixed-noise vector), not 0: in
      // 64 dimensions z = 0 is far from every z that G sees, and so would be its image.
      const typical = tf.tidy(() => tf.slice(gan.noise(1, randomStream(gan.config.seed, 'fixed-noise')), [0, 0], [1, -1]).dataSync());
      const noise = new Float32Array(MANIFOLD_CELLS * MANIFOLD_CELLS * latent.size);
      for (let row = 0; row < MANIFOLD_CELLS; row++) {
        for (let column = 0; column < MANIFOLD_CELLS; column++) {
          const i = (row * MANIFOLD_CELLS + column) * latent.size;
          noise.set(typical, i);
          noise[i] = -extent + (2 * extent * column) / (MANIFOLD_CELLS - 1);
          noise[i + 1] = -extent + (2 * extent * row) / (MANIFOLD_CELLS - 1);
        }
      }
      this.manifoldNoise = tf.tensor2d(noise, [MANIFOLD_CELLS * MANIFOLD_CELLS, latent.size]);
    }
  }

  /** D's raw output on model-space points, each as `pack` copies for a packed D, averaged over the classes of a conditional D. */
  private discriminate(points: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const pack = this.gan.config.training.pack ?? 1;
      const n = points.shape[0];
      // (Packing rows x, x, …, x of 2-D points lays them side by side.)
      const input = pack > 1 ? tf.tile(points, [1, pack]) : points;
      if (!this.gan.classes) return tf.reshape(this.gan.discriminator.apply(input, false), [n]);
      let sum: tf.Tensor = tf.zeros([n]);
      for (let c = 0; c < this.gan.classes; c++) {
        const labels = oneHot(new Int32Array(n).fill(c), this.gan.classes);
        const raw = tf.reshape(this.gan.discriminator.apply(input, false, labels), [n]);
        // Probabilities average; scores too (their offset is shared across classes).
        sum = tf.add(sum, this.gan.config.training.cost.type === 'cross-entropy' ? tf.sigmoid(raw) : raw);
      }
      const mean = tf.div(sum, this.gan.classes);
      // (Back to a logit, so the caller's σ gives the average probability.)
      return (this.gan.config.training.cost.type === 'cross-entropy' ? tf.log(tf.div(mean, tf.sub(1 + 1e-7, mean))) : mean) as tf.Tensor1D;
    });
  }

  /**
   * The frame for samples G drew from the fixed noise (`samples`, model space, [n × 2]; `labels`
   * their classes for a conditional GAN). −∇x J(G) at each sample: J(G) is the run's adversarial
   * generator cost of D's output there (feature matching, when set, is not drawn).
   */
  async frame(samples: Float32Array, labels?: ArrayLike<number>): Promise<LaboratoryFrame> {
    const n = samples.length / 2;
    const pack = this.gan.config.training.pack ?? 1;
    const probability = this.gan.config.training.cost.type === 'cross-entropy';
    // D sees at most a training minibatch at a time: its activations stay small, and a D with
    // minibatch discrimination (whose output depends on its batch) sees batches of the size it was trained on.
    const chunk = Math.max(pack, this.gan.config.training.batchSize - (this.gan.config.training.batchSize % pack));
    const [surface, gradients] = tf.tidy(() => {
      const cells = this.surfacePoints.shape[0];
      const parts: tf.Tensor[] = [];
      for (let start = 0; start < cells; start += chunk) {
        const raw = this.discriminate(tf.slice(this.surfacePoints, [start, 0], [Math.min(chunk, cells - start), 2]));
        parts.push(probability ? tf.sigmoid(raw) : raw);
      }
      const shown = tf.concat(parts);
      // Whole packs only: the last n mod pack samples get no arrow.
      const usable = n - (n % pack);
      const arrows: tf.Tensor[] = [];
      for (let start = 0; start < usable; start += chunk) {
        const size = Math.min(chunk, usable - start);
        const x = tf.tensor2d(samples.subarray(start * 2, (start + size) * 2), [size, 2]);
        const y = this.gan.classes && labels ? oneHot(Array.from(labels).slice(start, start + size), this.gan.classes) : undefined;
        // J(G) is a mean over the batch: × size, so arrows of every chunk are on one scale.
        const cost = (input: tf.Tensor) =>
          tf.mul(
            adversarialGeneratorCost(
              this.gan.config.training,
              this.gan.discriminator.apply(pack > 1 ? packSamples(input as tf.Tensor2D, [2], pack) : (input as tf.Tensor2D), false, y),
            ),
            size,
          ) as tf.Scalar;
        arrows.push(tf.neg(tf.grad(cost)(x)));
      }
      return [shown, arrows.length ? tf.concat(arrows) : tf.zeros([0, 2])] as const;
    });
    try {
      const [surfaceData, gradientData, manifoldData] = await Promise.all([
        surface.data() as Promise<Float32Array>,
        gradients.data() as Promise<Float32Array>,
        // The same weights as the samples (G's average, when kept).
        this.manifoldNoise ? this.gan.generate(this.manifoldNoise) : Promise.resolve(null),
      ]);
      // Gradients are directions: the data transform scales each coordinate (its offset does not apply).
      const [origin, unit] = [this.data.toDataSpace(Float32Array.from([0, 0])), this.data.toDataSpace(Float32Array.from([1, 1]))];
      const scale = [unit[0] - origin[0], unit[1] - origin[1]];
      const arrows: number[][] = [];
      for (let i = 0; i < gradientData.length; i += 2)
        arrows.push([gradientData[i] * scale[0], gradientData[i + 1] * scale[1]].map((v) => Number(v.toPrecision(4))));
      const manifoldPoints = manifoldData ? this.data.toDataSpace(manifoldData) : null;
      return {
        surface: {
          box: this.dataBox,
          columns: SURFACE_CELLS,
          rows: SURFACE_CELLS,
          values: Array.from(surfaceData, (v) => Number(v.toPrecision(4))),
          kind: probability ? 'probability' : 'score',
        },
        gradients: arrows,
        manifold: manifoldPoints
          ? {
              columns: MANIFOLD_CELLS,
              rows: MANIFOLD_CELLS,
              points: Array.from({ length: manifoldPoints.length / 2 }, (_, i) => [round(manifoldPoints[2 * i]), round(manifoldPoints[2 * i + 1])]),
            }
          : null,
      };
    } finally {
      tf.dispose([surface, gradients]);
    }
  }

  dispose(): void {
    this.surfacePoints.dispose();
    this.manifoldNoise?.dispose();
  }
}
