/**
 * Finds the optional native TensorFlow.js packages: next to the trainer (installed by hand), or in
 * the folders the extension names in GAN_WORKBENCH_NATIVE_DIR (where "GAN: Install GPU backend"
 * installs them, in its global storage). A package that is there but fails to load (no CUDA, a
 * wrong libtensorflow) reports its own error, which is what a user needs to read.
 */
import path from 'node:path';
import { NATIVE_DIR_ENV } from '../protocol/environment';

export type Requirer = (id: string) => unknown;

function isNotFound(error: unknown, id: string): boolean {
  const e = error as NodeJS.ErrnoException;
  return e?.code === 'MODULE_NOT_FOUND' && typeof e.message === 'string' && e.message.includes(id);
}

/** The install folders named by the environment (path-list separated). */
export function nativeDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env[NATIVE_DIR_ENV] ?? '').split(path.delimiter).filter((dir) => dir.length > 0);
}

/**
 * Requires `name` from the trainer's own module paths, then from each `<dir>/node_modules`.
 * Throws "Cannot find module …" (read as "not installed") only when no place has it.
 */
export function requireNative(name: string, dirs: readonly string[] = nativeDirs(), requirer: Requirer = require): unknown {
  const candidates = [name, ...dirs.map((dir) => path.join(dir, 'node_modules', name))];
  for (const candidate of candidates) {
    try {
      return requirer(candidate);
    } catch (error) {
      if (isNotFound(error, candidate)) continue;
      throw error;
    }
  }
  throw Object.assign(new Error(`Cannot find module '${name}' (looked beside the trainer${dirs.length ? ` and in ${dirs.join(', ')}` : ''})`), {
    code: 'MODULE_NOT_FOUND',
  });
}
