/**
 * Gradients tfjs-core 4.22 does not register and a gradient of a gradient needs. WGAN-GP's penalty
 * differentiates ‖∇ₓD(x)‖ with respect to D's weights, so the backward pass of D is itself
 * backpropagated: LeakyReLU's gradient where(x > 0, dy, α·dy) meets Greater, ReLU's meets Step,
 * ELU's is the EluGrad kernel, a clip or maximum meets Less/LogicalAnd. Without these the step
 * fails with "gradient function not found for Greater" on every backend. And three of tfjs's own
 * gradients are replaced, because they give wrong second derivatives (see below).
 *
 * Importing this module registers them (tfjs's own zero gradients are kept where they exist).
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

/** Replaces tfjs's gradient of a one-input op `x → y` by one computed from the saved x. */
function registerGradientOverride(kernelName: string, gradient: (dy: tf.Tensor, x: tf.Tensor) => tf.Tensor): void {
  tf.registerGradient({
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => gradient(dy as tf.Tensor, saved[0]) }),
  });
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
 * tfjs's gradients of Tanh, Sigmoid and Elu read the op's saved output y. The tape records the copy
 * of y before the op that makes y, so a second backward pass cannot see that the copy depends on
 * x: the dependence of y on D's weights is silently dropped and the penalty's gradient is wrong
 * (no error). Saving x instead and recomputing y inside the gradient keeps the path on the tape.
 */
registerGradientOverride('Tanh', (dy, x) => tf.mul(dy, tf.sub(1, tf.square(tf.tanh(x)))));
registerGradientOverride('Sigmoid', (dy, x) => {
  const y = tf.sigmoid(x);
  return tf.mul(dy, tf.mul(y, tf.sub(1, y)));
});
registerGradientOverride('Elu', (dy, x) => tf.engine().runKernel('EluGrad', { dy, y: tf.elu(x) }) as tf.Tensor);

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
