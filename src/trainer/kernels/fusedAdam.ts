/**
 * Adam's update as one kernel per variable on the WASM backend. tfjs's AdamOptimizer spends 14
 * kernels on each variable (and a scalar tensor for each constant): for the MLP reference GAN's 26
 * variables that is ~360 dispatches a step, for the DCGAN's 627 K-float dense kernel 14 passes over
 * it. The fused kernel reads w, g, m, v once and writes w', m', v' once, with the same single-
 * precision operations in the same order (heapMath.ts's `adam`), so the result is bit for bit
 * tfjs's. The optimizer object, its state and its checkpoints are tfjs's own: only
 * AdamOptimizer.applyGradients is wrapped, and it runs tfjs's code wherever the kernel is not
 * registered (the CPU backend, tfjs-node) or a variable is not float32.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, NamedAttrMap, NamedTensorMap, TensorInfo } from '@tensorflow/tfjs-core';
import { addressOf, mathOf } from './wasmElementwise';
import type { WasmBackend } from './wasmElementwise';

export const ADAM_UPDATE = 'AdamUpdate';
const BACKEND = 'wasm';

interface AdamAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
}

/**
 * Inputs value, gradient, m, v (one shape, float32) and the scalars 1 - β1ᵗ, 1 - β2ᵗ; outputs
 * [value', m', v'].
 */
export const adamUpdate: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as WasmBackend;
  const { value, gradient, m, v, oneMinusAccBeta1, oneMinusAccBeta2 } = inputs as Record<string, TensorInfo>;
  const { beta1, beta2, epsilon, learningRate } = attrs as unknown as AdamAttrs;
  const math = mathOf(b);
  if (!math) throw new Error(`${ADAM_UPDATE}: WebAssembly SIMD unavailable`);
  const size = tf.util.sizeFromShape(value.shape);
  const outputs = [value, m, v].map((t) => b.makeOutput(t.shape, 'float32'));
  if (size > 0) {
    const heap = b.wasm.HEAPF32;
    const [accBeta1Term, accBeta2Term] = [heap[addressOf(b, oneMinusAccBeta1) / 4], heap[addressOf(b, oneMinusAccBeta2) / 4]];
    const [w1, m1, v1] = outputs.map((t) => addressOf(b, t));
    math.adam(
      addressOf(b, value),
      addressOf(b, gradient),
      addressOf(b, m),
      addressOf(b, v),
      w1,
      m1,
      v1,
      4 * size,
      beta1,
      1 - beta1,
      beta2,
      1 - beta2,
      accBeta1Term,
      accBeta2Term,
      epsilon,
      -learningRate,
    );
  }
  return outputs;
};

/** The parts of tfjs's AdamOptimizer its applyGradients uses (private there). */
interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  incrementIterations(): void;
}

/** What applyGradients takes: tfjs's NamedTensor[] or a map. */
type Gradients = NamedTensorMap | { name: string; tensor: tf.Tensor }[];

type ApplyGradients = (this: tf.AdamOptimizer, variableGradients: Gradients) => void;

let stockApplyGradients: ApplyGradients | null = null;

/** tfjs's own AdamOptimizer.applyGradients (the one installFusedAdam wraps), for comparisons. */
export function stockAdamApplyGradients(): ApplyGradients {
  return stockApplyGradients ?? (tf.AdamOptimizer.prototype.applyGradients as ApplyGradients);
}

function fusedAvailable(): boolean {
  return tf.getKernel(ADAM_UPDATE, tf.getBackend()) !== undefined && mathOf(tf.backend()) !== null;
}

/** tfjs 4.22's AdamOptimizer.applyGradients with the per-variable arithmetic in one kernel. */
function fusedApplyGradients(this: tf.AdamOptimizer, variableGradients: Gradients): void {
  const adam = this as unknown as AdamInternals;
  const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
  const attrs = { beta1: adam.beta1, beta2: adam.beta2, epsilon: adam.epsilon, learningRate: adam.learningRate } as unknown as NamedAttrMap;
  tf.tidy(() => {
    const oneMinusAccBeta1 = tf.sub(1, adam.accBeta1);
    const oneMinusAccBeta2 = tf.sub(1, adam.accBeta2);
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      adam.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      adam.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      const gradient = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
      if (gradient == null) return;
      const m = adam.accumulatedFirstMoment[i].variable;
      const v = adam.accumulatedSecondMoment[i].variable;
      const fusable = [value, gradient, m, v].every((t) => t.dtype === 'float32' && tf.util.arraysEqual(t.shape, value.shape));
      if (fusable) {
        const [w1, m1, v1] = tf.engine().runKernel(ADAM_UPDATE, { value, gradient, m, v, oneMinusAccBeta1, oneMinusAccBeta2 }, attrs) as tf.Tensor[];
        m.assign(m1);
        v.assign(v1);
        value.assign(w1);
        return;
      }
      // tfjs's own arithmetic (adam_optimizer.ts).
      const m1 = tf.add(tf.mul(m, adam.beta1), tf.mul(gradient, 1 - adam.beta1));
      const v1 = tf.add(tf.mul(v, adam.beta2), tf.mul(tf.square(gradient), 1 - adam.beta2));
      const mHat = tf.div(m1, oneMinusAccBeta1);
      const vHat = tf.div(v1, oneMinusAccBeta2);
      m.assign(m1);
      v.assign(v1);
      value.assign(tf.add(tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), adam.epsilon)), -adam.learningRate), value));
    });
    adam.accBeta1.assign(tf.mul(adam.accBeta1, adam.beta1));
    adam.accBeta2.assign(tf.mul(adam.accBeta2, adam.beta2));
  });
  adam.incrementIterations();
}

let installed = false;

/**
 * Registers the AdamUpdate kernel for the WASM backend and wraps AdamOptimizer.applyGradients to
 * use it while the active backend has it; idempotent.
 */
export function installFusedAdam(): void {
  if (installed) return;
  tf.registerKernel({ kernelName: ADAM_UPDATE, backendName: BACKEND, kernelFunc: adamUpdate });
  const original = tf.AdamOptimizer.prototype.applyGradients as ApplyGradients;
  stockApplyGradients = original;
  tf.AdamOptimizer.prototype.applyGradients = function (this: tf.AdamOptimizer, variableGradients: Gradients) {
    if (fusedAvailable()) fusedApplyGradients.call(this, variableGradients);
    else original.call(this, variableGradients);
  };
  installed = true;
}
