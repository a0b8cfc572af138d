/**
 * Chooses the TensorFlow.js backend: tfjs-node-gpu, then tfjs-node, then WASM, then pure JS
 * (DESIGN.md § Backends). Native packages are optional and required lazily; the reason each
 * preferred backend was skipped is kept for run.json.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendChoice, BackendName } from '../protocol/runDirectory';
import { BACKENDS } from '../protocol/runDirectory';
import { installFusedAdam } from './kernels/fusedAdam';
import { configuredThreads, heapThreads, startHeapThreads } from './kernels/heapThreads';
import type { WasmHeap } from './kernels/heapMover';
import { sharedHeapWasmPaths } from './kernels/sharedHeap';
import { installWasmConvKernels } from './kernels/wasmConv';
import { installWasmElementwiseKernels } from './kernels/wasmElementwise';
import { installWasmMatMul } from './kernels/wasmMatMul';
import { requireNative } from './nativeModules';

export interface BackendSelection {
  backend: BackendName;
  /** Why each backend before the chosen one was skipped; empty when the first choice worked. */
  reason: string;
}

/** Makes one backend active, or throws saying why it cannot be used. */
export type BackendLoader = () => Promise<void>;

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const firstLine = text.split('\n')[0];
  return /Cannot find module/.test(firstLine) ? 'not installed' : firstLine;
}

async function activate(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`backend "${name}" failed to initialize`);
  await tf.ready();
}

/** Folder holding the tfjs-backend-wasm binaries (copied next to the bundle by esbuild.mjs). */
function wasmDirectory(): string {
  if (existsSync(path.join(__dirname, 'tfjs-backend-wasm.wasm'))) return __dirname;
  // Unbundled (tests run the TypeScript sources): the package's own copy.
  // (A computed name, so esbuild does not try to bundle the lookup.)
  const manifest = ['@tensorflow', 'tfjs-backend-wasm', 'package.json'].join('/');
  return path.join(path.dirname(require.resolve(manifest)), 'dist');
}

export const defaultLoaders: Record<BackendName, BackendLoader> = {
  'tensorflow-gpu': async () => {
    requireNative('@tensorflow/tfjs-node-gpu');
    await activate('tensorflow');
  },
  tensorflow: async () => {
    requireNative('@tensorflow/tfjs-node');
    await activate('tensorflow');
  },
  wasm: async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    const directory = wasmDirectory();
    // Several threads: the heap shared with worker threads (kernels/sharedHeap.ts, kernels/heapThreads.ts).
    const threads = configuredThreads();
    const flags = { simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'), threads: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT') };
    const shared = threads > 1 ? await sharedHeapWasmPaths(directory, { simd: flags.simd === true, threads: flags.threads === true }) : null;
    if (shared) wasm.setWasmPaths(shared, true);
    else wasm.setWasmPaths(directory + path.sep);
    await activate('wasm');
    installWasmMatMul();
    installWasmConvKernels();
    installWasmElementwiseKernels();
    installFusedAdam();
    const memory = (tf.backend() as unknown as { wasm: WasmHeap }).wasm.asm?.memory;
    if (shared && memory) await startHeapThreads(memory, threads);
  },
  cpu: async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-backend-cpu');
    await activate('cpu');
  },
};

/** Threads the active backend's heap kernels run on: the WASM backend's pool (kernels/heapThreads.ts), else 1. */
export function backendThreads(): number {
  if (tf.getBackend() !== 'wasm') return 1;
  return heapThreads((tf.backend() as unknown as { wasm: WasmHeap }).wasm.asm?.memory)?.lanes ?? 1;
}

/**
 * Tries the backends in order of preference (or only the one asked for) and returns the first
 * that works. Throws when an explicitly requested backend cannot be used.
 */
export async function selectBackend(choice: BackendChoice, loaders: Record<BackendName, BackendLoader> = defaultLoaders): Promise<BackendSelection> {
  const candidates: readonly BackendName[] = choice === 'auto' ? BACKENDS : [choice];
  const skipped: string[] = [];
  for (const name of candidates) {
    try {
      await loaders[name]();
      return { backend: name, reason: skipped.join('; ') };
    } catch (error) {
      skipped.push(`${name}: ${messageOf(error)}`);
    }
  }
  throw new Error(`no usable TensorFlow.js backend (${skipped.join('; ')})`);
}
