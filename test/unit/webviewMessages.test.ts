/** Messages from the monitor webview are untrusted: a fuzz test shows only the allow-listed actions run. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dispatchMonitorMessage } from '../../src/protocol/monitorMessages';
import { Random } from '../../src/trainer/random';

function randomValue(random: Random, depth: number): unknown {
  const kinds = depth > 3 ? 6 : 9;
  switch (random.int(kinds)) {
    case 0:
      return null;
    case 1:
      return random.uniform() * 1e6 - 5e5;
    case 2:
      return [
        'monitor/ready',
        'monitor/stopRun',
        'monitor/ready ',
        'MONITOR/READY',
        'monitor/didLoad',
        'run/start',
        'command:workbench.action.terminal.new',
        '',
        '__proto__',
      ][random.int(9)];
    case 3:
      return random.int(2) === 0;
    case 4:
      return undefined;
    case 5:
      return 'x'.repeat(random.int(3) === 0 ? 1_000_000 : random.int(50));
    case 6:
      return Array.from({ length: random.int(5) }, () => randomValue(random, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (const key of ['type', 'command', 'runDir', 'args', 'constructor', 'data'].filter(() => random.int(2) === 0)) {
        object[key] = randomValue(random, depth + 1);
      }
      return object;
    }
  }
}

describe('monitor webview → host messages', () => {
  it('run only the declared actions, for exactly the declared messages', () => {
    const calls: string[] = [];
    const actions = {
      ready: () => calls.push('ready'),
      stopRun: () => calls.push('stopRun'),
      requestImage: (step: number) => calls.push(`image ${step}`),
      control: (action: { action: string }) => calls.push(`control ${action.action}`),
    };
    assert.equal(dispatchMonitorMessage({ type: 'monitor/ready' }, actions), true);
    assert.equal(dispatchMonitorMessage({ type: 'monitor/stopRun' }, actions), true);
    assert.equal(dispatchMonitorMessage({ type: 'monitor/requestImage', step: 250 }, actions), true);
    // A step is a whole, non-negative number: never a path, a fraction or a string.
    for (const step of [-1, 2.5, '250', '../x', Number.NaN, 1e300, null]) {
      assert.equal(dispatchMonitorMessage({ type: 'monitor/requestImage', step }, actions), false, String(step));
    }
    assert.deepEqual(calls, ['ready', 'stopRun', 'image 250']);
  });

  it('pass only well-formed control actions with values in range', () => {
    const actions: string[] = [];
    const record = {
      ready: () => 0,
      stopRun: () => 0,
      requestImage: () => 0,
      control: (action: { action: string }) => actions.push(JSON.stringify(action)),
    };
    const good = [
      { action: 'pause' },
      { action: 'resume' },
      { action: 'step', player: 'discriminator' },
      { action: 'step', player: 'generator' },
      { action: 'set', generatorLearningRate: 0.0002 },
      { action: 'set', discriminatorLearningRate: 1, dStepsPerGStep: 100 },
    ];
    for (const action of good) assert.equal(dispatchMonitorMessage({ type: 'monitor/control', action }, record), true, JSON.stringify(action));
    const bad: unknown[] = [
      undefined,
      null,
      'pause',
      [],
      { action: 'pause', extra: 1 },
      { action: 'step' },
      { action: 'step', player: 'both' },
      { action: 'set' },
      { action: 'set', generatorLearningRate: 0 },
      { action: 'set', generatorLearningRate: 2 },
      { action: 'set', generatorLearningRate: '0.001' },
      { action: 'set', dStepsPerGStep: 1.5 },
      { action: 'set', dStepsPerGStep: 101 },
      { action: 'set', batchSize: 64 },
      { action: 'exec', command: 'rm -rf /' },
      JSON.parse('{"__proto__": {"action": "pause"}}'),
    ];
    for (const action of bad) assert.equal(dispatchMonitorMessage({ type: 'monitor/control', action }, record), false, JSON.stringify(action));
    assert.equal(actions.length, good.length);
  });

  it('drop malformed, oversized, unknown and prototype-borne messages (fuzz, 20,000 cases)', () => {
    const random = new Random('fuzz');
    let ran = 0;
    const actions = {
      ready: () => ran++,
      stopRun: () => ran++,
      control: () => 0,
      requestImage: () => ran++,
    };
    for (let i = 0; i < 20_000; i++) {
      const value = randomValue(random, 0);
      const expected =
        value !== null &&
        typeof value === 'object' &&
        !Array.isArray(value) &&
        Object.prototype.hasOwnProperty.call(value, 'type') &&
        ((value as { type: unknown }).type === 'monitor/ready' || (value as { type: unknown }).type === 'monitor/stopRun');
      const before = ran;
      assert.equal(dispatchMonitorMessage(value, actions), expected, JSON.stringify(value)?.slice(0, 200));
      assert.equal(ran - before, expected ? 1 : 0);
    }
    // A type inherited through the prototype is not a message.
    assert.equal(dispatchMonitorMessage(Object.create({ type: 'monitor/stopRun' }), actions), false);
    assert.equal(dispatchMonitorMessage(JSON.parse('{"__proto__": {"type": "monitor/stopRun"}}'), actions), false);
  });
});
