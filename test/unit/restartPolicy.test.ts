import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestartPolicy } from '../../src/extension/restartPolicy';

describe('restart policy (vscode-languageclient’s)', () => {
  it('restarts 4 times, then gives up when 5 crashes fall within 3 minutes', () => {
    let now = 0;
    const policy = new RestartPolicy(() => now);
    const decisions = [0, 10, 20, 30, 40].map((seconds) => {
      now = seconds * 1000;
      return policy.onCrash();
    });
    assert.deepEqual(decisions, ['restart', 'restart', 'restart', 'restart', 'give-up']);
  });

  it('keeps restarting a trainer that crashes rarely', () => {
    let now = 0;
    const policy = new RestartPolicy(() => now);
    for (let i = 0; i < 20; i++) {
      now = i * 61_000;
      assert.equal(policy.onCrash(), 'restart', `crash ${i + 1}`);
    }
  });
});
