/**
 * Changing a few fields of an experiment without editing its file: `--set a.b=value` on the CLI,
 * the extension's "Modify hyperparameters and run" and forks. The patched config is validated
 * again, so a bad value is reported with its field path like any other config problem.
 */
import { validateConfig, type ConfigResult, type GanConfig } from './config';

export interface ConfigSetting {
  /** Dotted field path, e.g. `generator.optimizer.learningRate`. */
  path: string;
  value: unknown;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

/** Parses `path=value`; the value is read as JSON when it is JSON (numbers, booleans, objects), else as a string. */
export function parseSetting(text: string): ConfigSetting | { error: string } {
  const equals = text.indexOf('=');
  if (equals <= 0) return { error: `"${text}" is not of the form field.path=value` };
  const path = text.slice(0, equals).trim();
  const raw = text.slice(equals + 1).trim();
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // A bare word such as `leakyRelu` is meant as a string.
  }
  return { path, value };
}

/** Applies the settings to a copy of `config` and validates the result. */
export function applySettings(config: GanConfig, settings: readonly ConfigSetting[]): ConfigResult {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const { path, value } of settings) {
    const keys = path.split('.');
    if (keys.some((key) => key === '' || FORBIDDEN_KEYS.has(key))) {
      return { ok: false, problems: [{ path: keys, message: `"${path}" is not a field path` }] };
    }
    let target: Record<string, unknown> = copy;
    for (const [i, key] of keys.slice(0, -1).entries()) {
      const next = Object.prototype.hasOwnProperty.call(target, key) ? target[key] : undefined;
      if (next === undefined) target[key] = {};
      else if (next === null || typeof next !== 'object' || Array.isArray(next)) {
        return { ok: false, problems: [{ path: keys.slice(0, i + 1), message: `is not an object, so "${path}" cannot be set` }] };
      }
      target = target[key] as Record<string, unknown>;
    }
    target[keys[keys.length - 1]] = value;
  }
  return validateConfig(copy);
}
