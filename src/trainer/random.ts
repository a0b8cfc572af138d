/**
 * Seeded randomness whose state can be saved in a checkpoint, so a resumed run draws exactly the
 * noise and data it would have drawn without the interruption.
 */
import seedrandom from 'seedrandom';

export type RandomState = seedrandom.State.Alea;

export class Random {
  private readonly prng: seedrandom.StatefulPRNG<RandomState>;
  /** Box–Muller makes normals in pairs; the spare one is part of the state. */
  private spareNormal: number | null = null;

  constructor(seed: string, state?: { prng: RandomState; spareNormal: number | null }) {
    this.prng = seedrandom.alea(seed, { state: state ? state.prng : true });
    if (state) this.spareNormal = state.spareNormal;
  }

  /** Uniform on [0, 1). */
  uniform(): number {
    return this.prng.double();
  }

  normal(): number {
    if (this.spareNormal !== null) {
      const spare = this.spareNormal;
      this.spareNormal = null;
      return spare;
    }
    let u = 0;
    while (u === 0) u = this.prng.double();
    const v = this.prng.double();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.prng.double() * n);
  }

  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  fillUniform(out: Float32Array, low: number, high: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * this.prng.double();
    return out;
  }

  state(): { prng: RandomState; spareNormal: number | null } {
    return { prng: this.prng.state(), spareNormal: this.spareNormal };
  }
}

/**
 * Independent streams derived from the run's seed, so changing one use does not shift another.
 * The evaluation draws its fixed noise and labels, and its fixed real sample, from their own two.
 */
export function randomStream(
  seed: number,
  purpose: 'weights' | 'training' | 'fixed-noise' | 'real-sample' | 'reference-batch' | 'evaluation-noise' | 'evaluation-sample' | 'semi-supervised',
): Random {
  return new Random(`${seed}:${purpose}`);
}
