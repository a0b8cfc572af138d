/** Hostile input: configs and settings from a folder someone else wrote. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatProblem } from '../../src/protocol/config';
import { parseConfigText } from '../../src/protocol/configText';
import { resolveRunsFolder } from '../../src/runs/runsFolder';

const base = { name: 'x', data: { type: 'ring' }, generator: { type: 'mlp' }, discriminator: { type: 'mlp' } };

function problems(text: string): string[] {
  const result = parseConfigText(text);
  return result.ok ? [] : result.problems.map(formatProblem);
}

describe('hostile configs', () => {
  it('refuse huge numbers, overflowing numbers and non-finite values with the field named', () => {
    assert.deepEqual(problems(JSON.stringify({ ...base, generator: { type: 'mlp', width: 1e12 } })), ['generator.width: expected ≤ 8192, got 1000000000000']);
    assert.match(
      problems(JSON.stringify(base).replace('"type":"mlp"}', '"type":"mlp","optimizer":{"type":"adam","learningRate":1e999}}'))[0],
      /^generator\.optimizer\.learningRate: /,
    );
    assert.match(problems(JSON.stringify({ ...base, training: { steps: 1e300 } }))[0], /^training\.steps: expected ≤ \d+, got 1e\+300$/);
    assert.match(problems(JSON.stringify({ ...base, seed: -1 }))[0], /^seed: expected ≥ 0/);
  });

  it('refuse markup in names (names become folder names and titles)', () => {
    assert.match(problems(JSON.stringify({ ...base, name: '<img src=x onerror=alert(1)>' }))[0], /^name: /);
    assert.match(problems(JSON.stringify({ ...base, name: '../../etc' }))[0], /^name: /);
  });

  it('refuse prototype keys anywhere in the tree', () => {
    assert.deepEqual(
      problems('{"name":"x","data":{"type":"ring","constructor":{"prototype":{"a":1}}},"generator":{"type":"mlp"},"discriminator":{"type":"mlp"}}'),
      ['data.constructor: this key is not allowed'],
    );
  });
});

describe('runs folder', () => {
  let workspace: string;
  let outside: string;
  before(async () => {
    workspace = await mkdtemp(path.join(os.tmpdir(), 'gan-ws-'));
    outside = await mkdtemp(path.join(os.tmpdir(), 'gan-outside-'));
    await symlink(outside, path.join(workspace, 'escape'));
    await mkdir(path.join(workspace, 'inside'));
  });
  after(async () => {
    await rm(workspace, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('accepts folders inside the workspace and absolute folders', () => {
    assert.deepEqual(resolveRunsFolder(workspace, 'runs'), { ok: true, path: path.join(workspace, 'runs') });
    assert.deepEqual(resolveRunsFolder(workspace, 'inside/runs'), { ok: true, path: path.join(workspace, 'inside', 'runs') });
    assert.deepEqual(resolveRunsFolder(workspace, ''), { ok: true, path: path.join(workspace, 'runs') });
    assert.deepEqual(resolveRunsFolder(workspace, outside), { ok: true, path: outside });
  });

  it('refuses ../ and symbolic links that lead out of the workspace', () => {
    const up = resolveRunsFolder(workspace, '../../tmp/runs');
    assert.equal(up.ok, false);
    assert.match(up.ok ? '' : up.reason, /outside the workspace folder/);
    const linked = resolveRunsFolder(workspace, 'escape/runs');
    assert.equal(linked.ok, false);
    assert.match(linked.ok ? '' : linked.reason, /through a symbolic link/);
  });
});
