import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { configJsonSchema, formatProblem, validateConfig } from '../../src/protocol/config';
import { formatLocatedProblems, parseConfigText } from '../../src/protocol/configText';

const minimal = {
  name: 'ring',
  data: { type: 'ring' },
  generator: { type: 'mlp' },
  discriminator: { type: 'mlp' },
};

function problems(input: unknown): string[] {
  const result = validateConfig(input);
  assert.equal(result.ok, false, 'expected the config to be refused');
  return result.ok ? [] : result.problems.map(formatProblem);
}

describe('experiment config', () => {
  it('fills the defaults of a minimal config', () => {
    const result = validateConfig(minimal);
    assert.ok(result.ok);
    assert.equal(result.config.training.generatorCost, 'non-saturating');
    assert.deepEqual(result.config.training.cost, { type: 'cross-entropy' });
    assert.equal(result.config.training.dStepsPerGStep, 1);
    assert.deepEqual(result.config.data, { type: 'ring', modes: 8, radius: 1, std: 0.01 });
    assert.equal(result.config.generator.optimizer.type, 'adam');
  });

  it('evaluates 1,000 samples by default; 0 turns the evaluation off; 1 to 9 and more than 10,000 are refused', () => {
    const defaults = validateConfig(minimal);
    assert.ok(defaults.ok);
    assert.equal(defaults.config.logging.evaluationSamples, 1000);
    const partial = validateConfig({ ...minimal, logging: { samplesEvery: 50 } });
    assert.ok(partial.ok);
    assert.equal(partial.config.logging.evaluationSamples, 1000);
    const off = validateConfig({ ...minimal, logging: { evaluationSamples: 0 } });
    assert.ok(off.ok);
    assert.equal(off.config.logging.evaluationSamples, 0);
    assert.deepEqual(problems({ ...minimal, logging: { evaluationSamples: 5 } }), [
      'logging.evaluationSamples: at least 10 (precision, recall, density and coverage need neighbours), or 0 to turn the evaluation off',
    ]);
    assert.equal(problems({ ...minimal, logging: { evaluationSamples: 20000 } }).length, 1);
    assert.equal(problems({ ...minimal, logging: { evaluationSamples: 12.5 } }).length, 1);
  });

  it('names the field and the expectation for a wrong type', () => {
    assert.deepEqual(problems({ ...minimal, training: { batchSize: 'sixty-four' } }), ['training.batchSize: expected number, got "sixty-four"']);
  });

  it('refuses a negative batch size', () => {
    assert.deepEqual(problems({ ...minimal, training: { batchSize: -5 } }), ['training.batchSize: expected > 0, got -5']);
  });

  it('refuses unknown fields, naming each', () => {
    assert.deepEqual(problems({ ...minimal, generator: { type: 'mlp', widht: 3 } }), ['generator.widht: unknown field (remove it or check its spelling)']);
  });

  it('lists the allowed values of an enum', () => {
    assert.deepEqual(problems({ ...minimal, training: { generatorCost: 'wasserstein-ish' } }), [
      'training.generatorCost: expected one of "non-saturating", "minimax", "maximum-likelihood", got "wasserstein-ish"',
    ]);
  });

  it('says which data type is unknown', () => {
    assert.deepEqual(problems({ ...minimal, data: { type: 'moons' } }), [
      'data.type: expected one of "ring", "grid", "csv", "mnist", "idx", "images", got "moons"',
    ]);
  });

  it('reports a missing required field', () => {
    const { name: _name, ...rest } = minimal;
    assert.deepEqual(problems(rest), ['name: required: expected string']);
  });

  it('refuses k < 1 and non-integer steps', () => {
    assert.deepEqual(problems({ ...minimal, training: { dStepsPerGStep: 0, steps: 1.5 } }).sort(), [
      'training.dStepsPerGStep: expected > 0, got 0',
      'training.steps: expected int, got 1.5',
    ]);
  });

  it('locates problems in the text (line:column) and allows comments', () => {
    const text =
      '// a comment\n{\n  "name": "x",\n  "data": { "type": "ring" },\n  "generator": { "type": "mlp" },\n  "discriminator": { "type": "mlp", "depth": -1 }\n}\n';
    const result = parseConfigText(text);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(formatLocatedProblems('x.gan.json', text, result.problems), 'x.gan.json:6:46: discriminator.depth: expected ≥ 0, got -1');
  });

  it('refuses prototype keys instead of building objects with them', () => {
    const result = parseConfigText('{"name":"x","data":{"type":"ring"},"generator":{"type":"mlp"},"discriminator":{"type":"mlp"},"__proto__":{"polluted":1}}');
    assert.equal(result.ok, false);
    if (!result.ok) assert.deepEqual(result.problems.map(formatProblem), ['__proto__: this key is not allowed']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('reports invalid JSON', () => {
    const result = parseConfigText('{"name": }');
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.problems[0].message, /^invalid JSON/);
  });

  it('every shipped example is valid', () => {
    for (const dir of ['examples', 'bench/configs']) {
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.gan.json'))) {
        const result = parseConfigText(readFileSync(path.join(dir, file), 'utf8'));
        assert.ok(result.ok, `${dir}/${file}: ${result.ok ? '' : result.problems.map(formatProblem).join('; ')}`);
      }
    }
  });

  it('gives the editor a JSON Schema with descriptions, enums and no extra properties', () => {
    const schema = configJsonSchema() as {
      properties: Record<string, { description?: string; properties?: Record<string, { description?: string; enum?: string[] }> }>;
      additionalProperties?: boolean;
      required?: string[];
    };
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual([...(schema.required ?? [])].sort(), ['data', 'discriminator', 'generator', 'name']);
    const training = schema.properties.training;
    assert.match(training.properties?.dStepsPerGStep.description ?? '', /Algorithm 1/);
    assert.deepEqual(training.properties?.generatorCost.enum, ['non-saturating', 'minimax', 'maximum-likelihood']);
    assert.match(training.properties?.generatorCost.description ?? '', /non-saturating/);
  });

  it('describes every cost and each of its fields, citing the paper (the editor shows it on hover)', () => {
    type Node = { description?: string; properties?: Record<string, Node>; oneOf?: Node[]; const?: string };
    const cost = (configJsonSchema() as { properties: { training: Node } }).properties.training.properties?.cost;
    assert.ok(cost?.description && cost.oneOf);
    assert.deepEqual(
      cost.oneOf.map((variant) => variant.properties?.type.const),
      ['cross-entropy', 'wasserstein', 'wgan-gp', 'hinge', 'least-squares'],
    );
    for (const variant of cost.oneOf) {
      const type = variant.properties?.type;
      assert.match(type?.description ?? '', /\b20\d\d\b/, `${type?.const}: cites its paper`);
      for (const [key, field] of Object.entries(variant.properties ?? {})) assert.ok(field.description, `${type?.const}.${key} has a description`);
    }
  });
});
