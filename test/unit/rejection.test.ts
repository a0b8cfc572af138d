/** Discriminator rejection sampling (Azadi et al. 2019): the acceptance rule, what it samples, and the refusals. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { validateConfig } from '../../src/protocol/config';
import { loadData } from '../../src/trainer/data';
import { Gan } from '../../src/trainer/gan';
import { Random } from '../../src/trainer/random';
import { acceptance, RejectionError, rejectionSample, rejectRows } from '../../src/trainer/rejection';

/**
 * A proposal over the four points 0…3 with probabilities `proposal`, each draw's logit set to what an optimal D gives:
 * log p_data(x) − log p_g(x).
 */
function discreteProposal(proposal: number[], target: number[], random: Random) {
  const cumulative = proposal.map((_, i) => proposal.slice(0, i + 1).reduce((a, b) => a + b, 0));
  return async (n: number) => {
    const rows = new Float32Array(n);
    const logits = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const u = random.uniform();
      const point = cumulative.findIndex((c) => u < c);
      rows[i] = point;
      logits[i] = Math.log(target[point]) - Math.log(proposal[point]);
    }
    return { rows, logits };
  };
}

describe('discriminator rejection sampling', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('keeps a draw with probability exp(logit − log M), at most 1', () => {
    assert.equal(acceptance(2, 2), 1);
    assert.equal(acceptance(3, 2), 1, 'a logit above the estimate of log M is kept');
    assert.ok(Math.abs(acceptance(Math.log(0.25), 0) - 0.25) < 1e-12);
    assert.ok(Math.abs(acceptance(-1, 1) - Math.exp(-2)) < 1e-12);
    assert.equal(acceptance(-Infinity, 0), 0);
  });

  it('turns draws of p_g into draws of p_data when the logits are log p_data/p_g (the paper’s premise)', async () => {
    const proposal = [0.4, 0.3, 0.2, 0.1];
    const target = [0.1, 0.2, 0.3, 0.4];
    const random = new Random('rejection-test');
    const count = 20_000;
    const { rows, proposed, maxLogit } = await rejectRows(count, 1, discreteProposal(proposal, target, random), () => random.uniform(), 2_000);
    const histogram = [0, 0, 0, 0];
    for (const point of rows) histogram[point]++;
    histogram.forEach((n, point) => assert.ok(Math.abs(n / count - target[point]) < 0.015, `point ${point}: ${n / count} vs ${target[point]}`));
    // M = max p_data/p_g = 4, so a quarter of the proposals is kept.
    assert.ok(Math.abs(maxLogit - Math.log(4)) < 1e-6);
    assert.ok(Math.abs(count / proposed - 0.25) < 0.01, `kept ${count / proposed}`);
  });

  it('never keeps a draw whose logit is not finite, and gives up with a clear error when D rejects nearly everything', async () => {
    let burnIn = true;
    const draw = async (n: number) => ({
      rows: new Float32Array(n).fill(7),
      logits: new Float32Array(n).fill(burnIn ? 0 : NaN),
    });
    const random = new Random('x');
    const promise = rejectRows(
      2,
      1,
      async (n) => {
        const result = await draw(n);
        burnIn = false;
        return result;
      },
      () => random.uniform(),
      10,
    );
    await assert.rejects(promise, (error: Error) => error instanceof RejectionError && /--no-rejection/.test(error.message));
    let far = true;
    const farFromMax = rejectRows(
      1,
      1,
      async (n) => {
        const logits = new Float32Array(n).fill(far ? 100 : 0);
        far = false;
        return { rows: new Float32Array(n), logits };
      },
      () => random.uniform(),
      10,
    );
    await assert.rejects(farFromMax, /kept 0 of 1000 draws/);
  });

  it('samples a real G through its D: as many rows as asked for, each a point G can make', async () => {
    const result = validateConfig({
      name: 'drs',
      seed: 3,
      data: { type: 'ring' },
      generator: { type: 'mlp', depth: 1, width: 8 },
      discriminator: { type: 'mlp', depth: 1, width: 8 },
      training: { batchSize: 16 },
      sampling: { rejection: 'discriminator' },
    });
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    const gan = new Gan(result.config, await loadData(result.config.data, '.'));
    try {
      const before = tf.memory().numTensors;
      const { rows, acceptanceRate } = await rejectionSample(gan, 50, new Random('s'), 500);
      assert.equal(rows.length, 100);
      assert.ok(rows.every(Number.isFinite));
      assert.ok(acceptanceRate > 0 && acceptanceRate <= 1);
      assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
    } finally {
      gan.dispose();
      tf.disposeVariables();
    }
  });

  it('is refused where D’s logit is not the log density ratio of one sample, naming the fields', () => {
    const base = { name: 'drs', data: { type: 'ring' as const }, generator: { type: 'mlp' as const }, discriminator: { type: 'mlp' as const } };
    const problems = (training: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
      const result = validateConfig({ ...base, training: { batchSize: 100, ...training }, sampling: { rejection: 'discriminator' }, ...extra });
      return result.ok ? [] : result.problems.filter((p) => p.path.join('.') === 'sampling.rejection').map((p) => p.message);
    };
    assert.deepEqual(problems({}), []);
    assert.match(problems({ cost: { type: 'hinge' } }).join(), /training\.cost "cross-entropy".*"hinge"/);
    assert.match(problems({ cost: { type: 'wgan-gp' } }).join(), /"wgan-gp"/);
    assert.match(problems({ labelSmoothing: 0.9 }).join(), /training\.labelSmoothing/);
    assert.match(problems({ pack: 2 }).join(), /training\.pack/);
    assert.match(problems({}, { conditional: true }).join(), /conditional/);
    assert.ok(
      validateConfig({ ...base, training: { batchSize: 100, cost: { type: 'hinge' } }, sampling: { rejection: 'none' } }).ok,
      '"none" goes with any cost',
    );
  });
});
