/**
 * `npm run bench:soak`: the trainer's memory over a long run. Trains a small ring GAN for 10,000
 * steps in this process (the real training loop, writing a run directory) and reports the
 * resident set size after warm-up and at the end, and the tensor count.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { train } from '../src/trainer/train';

const STEPS = Number(process.env.SOAK_STEPS ?? 10_000);
const WARM_UP = Math.min(1000, Math.floor(STEPS / 10));

void (async () => {
  const work = await mkdtemp(path.join(os.tmpdir(), 'gan-soak-'));
  const config = path.join(work, 'soak.gan.json');
  await writeFile(
    config,
    JSON.stringify({
      name: 'soak',
      data: { type: 'ring' },
      generator: { type: 'mlp', depth: 3, width: 64, batchNorm: true },
      discriminator: { type: 'mlp', depth: 3, width: 64, activation: 'leakyRelu' },
      training: { steps: STEPS, batchSize: 64 },
      logging: { metricsEvery: 10, histogramsEvery: 50, samplesEvery: 500, sampleCount: 200, checkpointEvery: 1000 },
    }),
  );
  const samples: { step: number; rssMiB: number; tensors: number }[] = [];
  const started = Date.now();
  const result = await train({
    configPath: config,
    runsDir: path.join(work, 'runs'),
    backend: 'auto',
    observer: {
      onStep: (step) => {
        if (step === WARM_UP || step % 1000 === 0) samples.push({ step, rssMiB: process.memoryUsage().rss / 2 ** 20, tensors: tf.memory().numTensors });
      },
    },
  });
  const warm = samples.find((s) => s.step === WARM_UP) ?? samples[0];
  const last = samples[samples.length - 1];
  for (const s of samples) console.log(`step ${String(s.step).padStart(6)}  rss ${s.rssMiB.toFixed(1)} MiB  tensors ${s.tensors}`);
  const growth = (100 * (last.rssMiB - warm.rssMiB)) / warm.rssMiB;
  console.log(
    `${result.status}: ${STEPS} steps in ${((Date.now() - started) / 1000).toFixed(0)} s on ${result.backend}; RSS ${warm.rssMiB.toFixed(1)} MiB at step ${warm.step} → ${last.rssMiB.toFixed(1)} MiB at step ${last.step} (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} %, target < 10 %); tensors ${warm.tensors} → ${last.tensors}`,
  );
  await rm(work, { recursive: true, force: true });
  process.exitCode = growth < 10 && last.tensors === warm.tensors && result.status === 'completed' ? 0 : 1;
})();
