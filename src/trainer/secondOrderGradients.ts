/**
 * Gradients tfjs-core 4.22 does not register and a gradient of a gradient needs. WGAN-GP's penalty
 * differentiates ‖∇ₓD(x)‖ with respect to D's weights, so the backward pass of D is itself
 * backpropagated: LeakyReLU's gradient where(x > 0, dy, α·dy) meets Greater, ReLU's meets Step,
 * ELU's is the EluGrad kernel, a clip or maximum meets Less/LogicalAnd. Without these the step
 * fails with "gradient function not found for Greater" on every backend.
 *
 * Importing this module registers them (once; tfjs's own registrations are kept where they exist).
 */
import * as tf from '@tensorflow/tfjs-core';
// Gradients of every op live in a separate module of tfjs-core.
import '@tensorflow/tfjs-core/dist/register_all_gradients';

/**
 * Comparisons, logical ops and piecewise-constant functions: their derivative is zero wherever it
 * exists, so no gradient flows through them (what TensorFlow does for its own comparison ops).
 */
const PIECEWISE_CONSTANT: Record<string, readonly string[]> = {
  Greater: ['a', 'b'],
  GreaterEqual: ['a', 'b'],
  Less: ['a', 'b'],
  LessEqual: ['a', 'b'],
  Equal: ['a', 'b'],
  NotEqual: ['a', 'b'],
  LogicalAnd: ['a', 'b'],
  LogicalOr: ['a', 'b'],
  LogicalNot: ['x'],
  Step: ['x'],
  Sign: ['x'],
  Floor: ['x'],
  Ceil: ['x'],
  Round: ['x'],
  IsNan: ['x'],
  IsInf: ['x'],
  IsFinite: ['x'],
};

function registerOnce(config: tf.GradConfig): void {
  // (getGradient returns undefined for an unregistered kernel, whatever its declared type says.)
  if ((tf.getGradient(config.kernelName) as tf.GradConfig | undefined) === undefined) tf.registerGradient(config);
}

for (const [kernelName, inputs] of Object.entries(PIECEWISE_CONSTANT)) {
  registerOnce({
    kernelName,
    // The inputs are saved for their shapes: with broadcasting dy's shape is not theirs.
    inputsToSave: [...inputs],
    gradFunc: (_dy, saved) => Object.fromEntries(inputs.map((name, i) => [name, () => tf.zeros(saved[i].shape, 'float32')])),
  });
}

/**
 * EluGrad(dy, y) = dy where y ≥ 0, dy·(y + 1) where y < 0 (y = elu(x), so y + 1 = eˣ = elu'(x)).
 * Its derivatives: with respect to dy, EluGrad itself; with respect to y, dy where y < 0, else 0.
 */
registerOnce({
  kernelName: 'EluGrad',
  inputsToSave: ['dy', 'y'],
  gradFunc: (ddy, saved) => {
    const [dy, y] = saved;
    const outer = ddy as tf.Tensor;
    return {
      dy: () => tf.engine().runKernel('EluGrad', { dy: outer, y }) as tf.Tensor,
      y: () => tf.mul(tf.mul(outer, dy), tf.cast(tf.less(y, 0), 'float32')),
    };
  },
});
