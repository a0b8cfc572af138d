/**
 * The "Edit experiment" form's contract. The form is generated from the config's JSON Schema; each
 * change is one field path and its new value, applied to the file's text by the host (so the
 * user's comments and layout stay).
 */
import { COST_DEFAULTS, type ConfigProblem, type CostType } from './config';

export type FieldPath = (string | number)[];

/**
 * The default of a field that the JSON Schema cannot state, because it depends on another field:
 * both optimizers, k and the generator cost follow `training.cost` (config.ts, COST_DEFAULTS).
 */
export interface DerivedDefault {
  path: FieldPath;
  /** What applies while the field is absent; absent when it cannot be known (the cost is not valid yet). */
  value?: unknown;
  /** False: the field does not apply at all (the generator cost of a cost other than cross-entropy). */
  applies: boolean;
  /** What the default follows, e.g. `the wgan-gp cost`, or `training.cost` when that is not known. */
  source: string;
}

/** The cost of a config being edited: the schema's default when absent, null when it is not one of the costs. */
function costOf(values: unknown): CostType | null {
  const training: unknown = values !== null && typeof values === 'object' ? (values as { training?: unknown }).training : undefined;
  const cost: unknown = training !== null && typeof training === 'object' ? (training as { cost?: unknown }).cost : undefined;
  if (cost === undefined) return 'cross-entropy';
  const type: unknown = cost !== null && typeof cost === 'object' ? (cost as { type?: unknown }).type : undefined;
  return typeof type === 'string' && Object.prototype.hasOwnProperty.call(COST_DEFAULTS, type) ? (type as CostType) : null;
}

/** The cost-dependent defaults of the config `values` (as parsed from the file, defaults not filled in). */
export function derivedDefaults(values: unknown): DerivedDefault[] {
  const cost = costOf(values);
  const defaults = cost ? COST_DEFAULTS[cost] : null;
  const source = cost ? `the ${cost} cost` : 'training.cost';
  const known = (path: FieldPath, value: unknown): DerivedDefault => (defaults ? { path, value, applies: true, source } : { path, applies: true, source });
  return [
    known(['generator', 'optimizer'], defaults && { ...defaults.optimizer }),
    known(['discriminator', 'optimizer'], defaults && { ...defaults.optimizer }),
    known(['training', 'dStepsPerGStep'], defaults?.dStepsPerGStep),
    cost === 'cross-entropy' || cost === null
      ? known(['training', 'generatorCost'], 'non-saturating')
      : { path: ['training', 'generatorCost'], applies: false, source },
  ];
}

export type HostToFormMessage =
  | {
      type: 'form/didLoad';
      fileName: string;
      schema: Record<string, unknown>;
      /** The file's current content (parsed as JSON with comments; null when it does not parse). */
      values: unknown;
      problems: ConfigProblem[];
      /** `derivedDefaults(values)`: the placeholders of the fields whose default follows the cost. */
      derived: DerivedDefault[];
    }
  | { type: 'form/didChangeDocument'; values: unknown; problems: ConfigProblem[]; derived: DerivedDefault[] };

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
