/**
 * What the evaluation costs beside training: for each config, the seconds of one training step
 * and of one evaluation (logging.evaluationSamples samples), and the evaluation's share of the
 * time at the config's logging.samplesEvery.
 *
 *   node --import tsx bench/evaluation.ts [examples/ring8.gan.json …] [--steps N] [--samples N]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/trainer/backend';
import { loadConfigFile, resolveConfigPaths } from '../src/trainer/configFile';
import { loadData } from '../src/trainer/data';
import { createEvaluator } from '../src/trainer/evaluation/evaluator';
import { Gan } from '../src/trainer/gan';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { steps: { type: 'string', default: '30' }, samples: { type: 'string' }, evaluations: { type: 'string', default: '3' } },
});
const configs = positionals.length ? positionals : ['examples/ring8.gan.json', 'examples/grid25.gan.json', 'examples/mnist-dcgan.gan.json'];

async function main(): Promise<void> {
  await selectBackend('wasm');
  for (const file of configs) {
    const configPath = path.resolve(file);
    let config = resolveConfigPaths(await loadConfigFile(configPath), path.dirname(configPath));
    if (values.samples) config = { ...config, logging: { ...config.logging, evaluationSamples: Number(values.samples) } };
    const data = await loadData(config.data, path.dirname(configPath));
    const gan = new Gan(config, data);
    for (let i = 0; i < 5; i++) await gan.step(false);
    await gan.step(true);
    const steps = Number(values.steps);
    let started = performance.now();
    for (let i = 0; i < steps; i++) await gan.step(i === steps - 1);
    const stepSeconds = (performance.now() - started) / 1000 / steps;
    started = performance.now();
    const evaluator = await createEvaluator(config, data);
    if (!evaluator) throw new Error(`${file}: the evaluation is off`);
    const createSeconds = (performance.now() - started) / 1000;
    const times: number[] = [];
    let fields = {};
    for (let i = 0; i < Number(values.evaluations); i++) {
      started = performance.now();
      fields = await evaluator.evaluate(gan);
      times.push((performance.now() - started) / 1000);
    }
    const evaluationSeconds = Math.min(...times);
    const interval = config.logging.samplesEvery * stepSeconds;
    console.log(
      `${path.basename(file)}: ${evaluator.samples} samples on ${evaluator.features}; step ${(1000 * stepSeconds).toFixed(1)} ms (${(1 / stepSeconds).toFixed(1)} steps/s); ` +
        `evaluation ${(1000 * evaluationSeconds).toFixed(0)} ms (runs ${times.map((t) => (1000 * t).toFixed(0)).join(', ')}), set-up ${(1000 * createSeconds).toFixed(0)} ms; ` +
        `every ${config.logging.samplesEvery} steps that is ${((100 * evaluationSeconds) / (interval + evaluationSeconds)).toFixed(1)}% of the time`,
    );
    console.log(`  ${JSON.stringify(fields)}`);
    evaluator.dispose();
    gan.dispose();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
