/**
 * The "Edit experiment" form's contract. The form is generated from the config's JSON Schema; each
 * change is one field path and its new value, applied to the file's text by the host (so the
 * user's comments and layout stay).
 */
import type { ConfigProblem } from './config';

export type FieldPath = (string | number)[];

export type HostToFormMessage =
  | {
      type: 'form/didLoad';
      fileName: string;
      schema: Record<string, unknown>;
      /** The file's current content (parsed as JSON with comments; null when it does not parse). */
      values: unknown;
      problems: ConfigProblem[];
    }
  | { type: 'form/didChangeDocument'; values: unknown; problems: ConfigProblem[] };

export type FormToHostMessage =
  | { type: 'form/ready' }
  /** `value` undefined removes the field (its default then applies); a flat object replaces a variant. */
  | { type: 'form/setValue'; path: FieldPath; value?: unknown };

export interface FormActions {
  ready(): void;
  setValue(path: FieldPath, value: unknown): void;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

/** Accepts only the declared messages, with a sane field path; returns whether an action ran. */
export function dispatchFormMessage(message: unknown, actions: FormActions): boolean {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return false;
  const own = (key: string): unknown => (Object.prototype.hasOwnProperty.call(message, key) ? (message as Record<string, unknown>)[key] : undefined);
  switch (own('type')) {
    case 'form/ready':
      actions.ready();
      return true;
    case 'form/setValue': {
      const path = own('path');
      const validPath =
        Array.isArray(path) &&
        path.length > 0 &&
        path.length <= 8 &&
        path.every((key) => (typeof key === 'string' && key.length > 0 && key.length < 100 && !FORBIDDEN_KEYS.has(key)) || (Number.isInteger(key) && key >= 0));
      if (!validPath) return false;
      const value = own('value');
      const scalar = (v: unknown) => ['string', 'number', 'boolean'].includes(typeof v);
      // Objects only when a variant changes (e.g. data {type: 'grid'}): flat, with plain keys.
      const flatObject = (v: unknown) =>
        v !== null &&
        typeof v === 'object' &&
        !Array.isArray(v) &&
        Object.getPrototypeOf(v) === Object.prototype &&
        Object.entries(v).every(([k, x]) => !FORBIDDEN_KEYS.has(k) && scalar(x));
      const validValue = value === undefined || scalar(value) || (Array.isArray(value) && value.every((v) => typeof v === 'string')) || flatObject(value);
      if (!validValue || (typeof value === 'string' && value.length > 10_000)) return false;
      actions.setValue(path as FieldPath, value);
      return true;
    }
    default:
      return false;
  }
}
