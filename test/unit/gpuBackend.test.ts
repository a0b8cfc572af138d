/**
 * The GPU path, which no machine here can load: the native-package lookup (beside the trainer,
 * then in the extension's install folder), the selection with stand-in tfjs-node-gpu packages
 * (one that works, one whose CUDA libraries are missing), and the installer with a stand-in npm.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { NATIVE_DIR_ENV } from '../../src/protocol/environment';
import { runGpuInstall } from '../../src/extension/gpuInstall';
import { selectBackend } from '../../src/trainer/backend';
import { requireNative } from '../../src/trainer/nativeModules';

const ROOT = path.resolve(__dirname, '../..');

async function fakePackage(dir: string, name: string, body: string): Promise<void> {
  const folder = path.join(dir, 'node_modules', ...name.split('/'));
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'package.json'), JSON.stringify({ name, main: 'index.js' }));
  await writeFile(path.join(folder, 'index.js'), body);
}

describe('the GPU backend', () => {
  let dir: string;
  const savedEnv = process.env[NATIVE_DIR_ENV];
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gan-gpu-'));
  });
  after(async () => {
    if (savedEnv === undefined) delete process.env[NATIVE_DIR_ENV];
    else process.env[NATIVE_DIR_ENV] = savedEnv;
    await rm(dir, { recursive: true, force: true });
  });

  it('is looked for beside the trainer first, then in each install folder, in order', () => {
    const tried: string[] = [];
    const requirer = (id: string) => {
      tried.push(id);
      if (id === path.join('/b', 'node_modules', 'pkg')) return { from: 'b' };
      throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
    };
    assert.deepEqual(requireNative('pkg', ['/a', '/b', '/c'], requirer), { from: 'b' });
    assert.deepEqual(tried, ['pkg', path.join('/a', 'node_modules', 'pkg'), path.join('/b', 'node_modules', 'pkg')]);
    const nowhere = (id: string) => {
      throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
    };
    assert.throws(() => requireNative('pkg', ['/a'], nowhere), /Cannot find module 'pkg' \(looked beside the trainer and in \/a\)/);
    // A package that is there but misses a dependency of its own is not "not installed".
    assert.throws(() => requireNative('pkg', [], () => nowhere('its-dependency')), /^Error: Cannot find module 'its-dependency'$/);
  });

  it('that is installed but cannot load reports its own reason, and the trainer falls back to WASM', async () => {
    const broken = path.join(dir, 'broken');
    await fakePackage(broken, '@tensorflow/tfjs-node-gpu', "throw new Error('libcudnn.so.8: cannot open shared object file: No such file or directory');");
    process.env[NATIVE_DIR_ENV] = broken;
    const selection = await selectBackend('auto');
    assert.equal(selection.backend, 'wasm');
    assert.match(selection.reason, /^tensorflow-gpu: libcudnn\.so\.8: cannot open shared object file: No such file or directory; tensorflow: not installed$/);
  });

  it('that loads is used, and the WASM training kernels are not registered for it', async () => {
    const working = path.join(dir, 'working');
    // A stand-in that registers a backend named "tensorflow" (as tfjs-node does) with the shared engine.
    const core = JSON.stringify(path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs-core'));
    const cpu = JSON.stringify(path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-cpu'));
    await fakePackage(
      working,
      '@tensorflow/tfjs-node-gpu',
      `const tf = require(${core}); const { MathBackendCPU } = require(${cpu}); tf.registerBackend('tensorflow', () => new MathBackendCPU(), 10);`,
    );
    process.env[NATIVE_DIR_ENV] = [path.join(dir, 'empty'), working].join(path.delimiter);
    const selection = await selectBackend('auto');
    assert.deepEqual(selection, { backend: 'tensorflow-gpu', reason: '' });
    assert.equal(tf.getBackend(), 'tensorflow');
    // The WASM kernels were registered by the earlier fallback; none for the native backend.
    assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'), 'registered for wasm');
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'tensorflow'), undefined);
    tf.removeBackend('tensorflow');
  });

  it('installs with npm into its folder, and a failed install says why', async () => {
    const bin = path.join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    const npm = path.join(bin, 'npm');
    // npm's shape of output when tfjs-node-gpu's install script cannot download libtensorflow.
    await writeFile(
      npm,
      `#!/bin/sh
echo "$@" > "$PWD/args.txt"
echo "> @tensorflow/tfjs-node-gpu@4.22.0 install" 
echo "npm error code 1" >&2
echo "npm error path $PWD/node_modules/@tensorflow/tfjs-node-gpu" >&2
echo "npm error Error: getaddrinfo ENOTFOUND storage.googleapis.com" >&2
echo "npm error A complete log of this run can be found in: /root/.npm/_logs/x.log" >&2
exit 1
`,
    );
    await chmod(npm, 0o755);
    const target = path.join(dir, 'native');
    let log = '';
    const failed = await runGpuInstall(target, (text) => (log += text), npm);
    assert.deepEqual(failed, { ok: false, summary: 'Error: getaddrinfo ENOTFOUND storage.googleapis.com' });
    assert.match(log, /ENOTFOUND/, 'npm output reaches the log');
    assert.match(await readFile(path.join(target, 'args.txt'), 'utf8'), /^install .*@tensorflow\/tfjs-node-gpu@4\.22\.0$/m, 'installed into the target folder');
    assert.equal(JSON.parse(await readFile(path.join(target, 'package.json'), 'utf8')).private, true);

    await writeFile(npm, '#!/bin/sh\necho "added 60 packages"\nexit 0\n');
    assert.equal((await runGpuInstall(target, () => undefined, npm)).ok, true);
    const missing = await runGpuInstall(target, () => undefined, path.join(bin, 'no-such-npm'));
    assert.equal(missing.ok, false);
    assert.match(missing.summary, /npm could not be started \(spawn .*no-such-npm ENOENT\)/);
  });
});
