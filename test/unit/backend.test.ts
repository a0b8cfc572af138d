import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BackendName } from '../../src/protocol/runDirectory';
import { selectBackend, type BackendLoader } from '../../src/trainer/backend';

function loaders(working: BackendName[], log: BackendName[] = []): Record<BackendName, BackendLoader> {
  const make =
    (name: BackendName): BackendLoader =>
    async () => {
      log.push(name);
      if (!working.includes(name)) {
        if (name.startsWith('tensorflow'))
          throw new Error(`Cannot find module '@tensorflow/tfjs-node${name === 'tensorflow-gpu' ? '-gpu' : ''}'\nRequire stack: …`);
        throw new Error(`${name} failed: no SIMD`);
      }
    };
  return { 'tensorflow-gpu': make('tensorflow-gpu'), tensorflow: make('tensorflow'), wasm: make('wasm'), cpu: make('cpu') };
}

describe('backend selection', () => {
  it('prefers the GPU, then native TensorFlow, then WASM, then pure JS', async () => {
    assert.deepEqual(await selectBackend('auto', loaders(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'])), { backend: 'tensorflow-gpu', reason: '' });
    assert.deepEqual(await selectBackend('auto', loaders(['tensorflow', 'wasm'])), { backend: 'tensorflow', reason: 'tensorflow-gpu: not installed' });
  });

  it('records why each preferred backend was skipped', async () => {
    const tried: BackendName[] = [];
    const selection = await selectBackend('auto', loaders(['cpu'], tried));
    assert.equal(selection.backend, 'cpu');
    assert.equal(selection.reason, 'tensorflow-gpu: not installed; tensorflow: not installed; wasm: wasm failed: no SIMD');
    assert.deepEqual(tried, ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
  });

  it('uses only the backend asked for, and says why it cannot', async () => {
    const tried: BackendName[] = [];
    assert.deepEqual(await selectBackend('wasm', loaders(['wasm', 'tensorflow-gpu'], tried)), { backend: 'wasm', reason: '' });
    assert.deepEqual(tried, ['wasm']);
    await assert.rejects(selectBackend('tensorflow-gpu', loaders(['cpu'])), /no usable TensorFlow.js backend \(tensorflow-gpu: not installed\)/);
  });

  it('really loads the WASM backend here', async () => {
    const selection = await selectBackend('auto');
    assert.equal(selection.backend, 'wasm');
    assert.match(selection.reason, /tensorflow-gpu: not installed; tensorflow: not installed/);
  });
});
