/**
 * The unrolled GAN (Metz et al. 2017): G's update is taken against D after K more D updates. This is
 * the first-order surrogate: K real updates of D (its own cost, optimizer and optimizer state) are
 * made, G's gradient is taken against the unrolled D with its weights held constant, and then D's
 * weights and its optimizer's state are put back exactly. The full gradient would differentiate
 * through the K updates (second derivatives through D's optimizer step); tfjs's optimizers assign
 * variables outside the gradient tape, so that would mean re-implementing each optimizer as
 * differentiable ops and K-fold memory.
 */
import * as tf from '@tensorflow/tfjs-core';

/** A value saved from an object field: a variable's contents, a list of `{ variable }` entries, or a number. */
type Saved =
  | { key: string; kind: 'variable'; variable: tf.Variable; value: tf.Tensor }
  | { key: string; kind: 'list'; length: number; values: { variable: tf.Variable; value: tf.Tensor }[] }
  | { key: string; kind: 'number'; value: number };

/**
 * Everything an optimizer updates: tfjs keeps its state in fields (Adam: accumulated moments, β
 * powers; RMSProp: mean squares, moments; iterations_ and learning-rate numbers), created on the
 * first update. Every variable-holding and numeric field is saved.
 */
function saveObject(target: object): Saved[] {
  const saved: Saved[] = [];
  for (const [key, value] of Object.entries(target)) {
    if (value instanceof tf.Variable) saved.push({ key, kind: 'variable', variable: value, value: tf.clone(value) });
    else if (typeof value === 'number') saved.push({ key, kind: 'number', value });
    else if (Array.isArray(value) && value.every((entry) => (entry as { variable?: unknown })?.variable instanceof tf.Variable)) {
      const entries = value as { variable: tf.Variable }[];
      saved.push({ key, kind: 'list', length: entries.length, values: entries.map(({ variable }) => ({ variable, value: tf.clone(variable) })) });
    }
  }
  return saved;
}

function restoreObject(target: object, saved: Saved[]): void {
  const fields = target as Record<string, unknown>;
  for (const entry of saved) {
    if (entry.kind === 'number') fields[entry.key] = entry.value;
    else if (entry.kind === 'variable') {
      entry.variable.assign(entry.value);
      entry.value.dispose();
    } else {
      const list = fields[entry.key] as { variable: tf.Variable }[];
      // State the unrolled updates created (a variable updated for the first time) goes away again.
      for (const extra of list.splice(entry.length)) extra.variable.dispose();
      for (const { variable, value } of entry.values) {
        variable.assign(value);
        value.dispose();
      }
    }
  }
}

/**
 * Runs `steps` discriminator updates (`update`), then `use` against the unrolled D, then restores
 * D's variables (`variables`: all of them, batch-norm statistics included) and `optimizer`'s state.
 * With `steps` 0, just `use`.
 */
export async function withUnrolledDiscriminator<T>(
  variables: readonly tf.Variable[],
  optimizer: tf.Optimizer,
  steps: number,
  update: () => void,
  use: () => T | Promise<T>,
): Promise<T> {
  if (steps <= 0) return use();
  const weights = variables.map((variable) => tf.clone(variable));
  const state = saveObject(optimizer);
  try {
    for (let i = 0; i < steps; i++) update();
    return await use();
  } finally {
    variables.forEach((variable, i) => variable.assign(weights[i]));
    tf.dispose(weights);
    restoreObject(optimizer, state);
  }
}
