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
    const actions = { ready: () => calls.push('ready'), stopRun: () => calls.push('stopRun'), requestImage: (step: number) => calls.push(`image ${step}`) };
    assert.equal(dispatchMonitorMessage({ type: 'monitor/ready' }, actions), true);
    assert.equal(dispatchMonitorMessage({ type: 'monitor/stopRun' }, actions), true);
    assert.equal(dispatchMonitorMessage({ type: 'monitor/requestImage', step: 250 }, actions), true);
    // A step is a whole, non-negative number: never a path, a fraction or a string.
    for (const step of [-1, 2.5, '250', '../x', Number.NaN, 1e300, null]) {
      assert.equal(dispatchMonitorMessage({ type: 'monitor/requestImage', step }, actions), false, String(step));
    }
    assert.deepEqual(calls, ['ready', 'stopRun', 'image 250']);
  });

  it('drop malformed, oversized, unknown and prototype-borne messages (fuzz, 20,000 cases)', () => {
    const random = new Random('fuzz');
    let ran = 0;
    const actions = {
      ready: () => ran++,
      stopRun: () => ran++,
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
