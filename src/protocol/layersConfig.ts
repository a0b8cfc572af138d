/**
 * The `layers` network of an experiment config: a stack of Dense, convolution, transposed
 * convolution, batch norm, activation and reshape layers, enough for DCGAN (Radford et al. 2016)
 * at 28×28 or 32×32, grayscale or RGB, and for MLPs with any per-layer choice.
 */
import { z } from 'zod';

const units = (what: string) => z.number().int().positive().max(65536).describe(what);
const kernelSize = z.number().int().positive().max(15).describe('Kernel height and width.').default(4);
const stride = z.number().int().positive().max(8).describe('Stride (2 halves the size with a convolution, doubles it with a transposed one).').default(2);
const padding = z
  .enum(['same', 'valid'])
  .describe('"same": output size = ceil(input / stride) (convolution) or input × stride (transposed); "valid": no padding.')
  .default('same');
const bias = z.boolean().describe('Add a learned bias (leave it off before batch norm, which has its own shift).').default(true);

export const layerSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('dense').describe('Fully connected layer (flattens its input first).'), units: units('Output units.'), bias }),
    z.strictObject({
      type: z.literal('conv2d').describe('2-D convolution, NHWC.'),
      filters: units('Output channels.'),
      kernel: kernelSize,
      stride,
      padding,
      bias,
    }),
    z.strictObject({
      type: z.literal('conv2dTranspose').describe('Transposed 2-D convolution ("deconvolution"): upsamples by the stride.'),
      filters: units('Output channels.'),
      kernel: kernelSize,
      stride,
      padding,
      bias,
    }),
    z.strictObject({
      type: z.literal('batchNorm').describe('Batch normalization (Ioffe & Szegedy 2015): per feature, or per channel after a convolution.'),
      virtual: z
        .boolean()
        .optional()
        .describe(
          'Virtual batch normalization (Salimans et al. 2016, §3.4): normalize every example with the mean and variance of a fixed ' +
            "reference batch (training.batchSize real samples for D, noise vectors for G, drawn once from the run's seed and checkpointed) " +
            "passed through the network with the current weights, so an example's output does not depend on the others in its minibatch. " +
            'Sampling uses the reference statistics of the last training pass.',
        ),
    }),
    z.strictObject({
      type: z
        .literal('minibatchDiscrimination')
        .describe(
          'Minibatch discrimination (Salimans et al. 2016, §3.2), discriminator only: the flat features f(x_i) ∈ R^A are multiplied by a ' +
            'learned tensor T ∈ R^(A×B×C) into M_i ∈ R^(B×C), and o(x_i)_b = Σ_j exp(-‖M_i,b - M_j,b‖_L1) over the minibatch is ' +
            'concatenated to them: [A] → [A + B]. Put it before the last dense layer.',
        ),
      kernels: units('B: the number of minibatch features added (Salimans et al. 2016: 100).').default(100),
      dimension: z.number().int().positive().max(256).describe("C: the dimension of each kernel's rows (Salimans et al. 2016: 5).").default(5),
    }),
    z.strictObject({ type: z.literal('relu').describe('max(0, x).') }),
    z.strictObject({
      type: z.literal('leakyRelu').describe('max(αx, x) (Maas et al. 2013); DCGAN uses α = 0.2 in D.'),
      slope: z.number().min(0).lt(1).describe('α, the slope for negative inputs.').default(0.2),
    }),
    z.strictObject({ type: z.literal('tanh').describe('tanh: a generator of images in [-1, 1] ends with it.') }),
    z.strictObject({ type: z.literal('sigmoid').describe('The logistic function.') }),
    z.strictObject({ type: z.literal('elu').describe('Exponential linear unit (Clevert et al. 2016).') }),
    z.strictObject({
      type: z.literal('reshape').describe('Reshapes each sample, e.g. [7, 7, 128] after a Dense layer of 6,272 units.'),
      shape: z.array(z.number().int().positive().max(65536)).min(1).max(3).describe('The new shape of one sample (height, width, channels for images).'),
    }),
    z.strictObject({ type: z.literal('flatten').describe('Flattens each sample to a vector.') }),
  ])
  .describe('One layer.');

export const initSchema = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('normal').describe('Weights from N(0, std²), biases 0: DCGAN uses std 0.02 (Radford et al. 2016).'),
      std: z.number().positive().max(10).describe('Standard deviation of the weights.').default(0.02),
    }),
    z.strictObject({
      type: z.literal('uniform-fan-in').describe("U(-1/√fan_in, 1/√fan_in) for weights and biases: PyTorch's default for Linear and Conv layers."),
    }),
  ])
  .describe('How the weights start.');

export type LayerConfig = z.output<typeof layerSchema>;
export type InitConfig = z.output<typeof initSchema>;

/** Output shape of one sample after each layer; throws a message naming the layer. */
export function layerShapes(layers: readonly LayerConfig[], input: readonly number[]): number[][] {
  const shapes: number[][] = [];
  let shape = [...input];
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  layers.forEach((layer, i) => {
    const where = `layers[${i}] (${layer.type})`;
    switch (layer.type) {
      case 'dense':
        shape = [layer.units];
        break;
      case 'conv2d':
      case 'conv2dTranspose': {
        if (shape.length !== 3)
          throw new Error(`${where}: needs an image input [height, width, channels], got [${shape.join(', ')}] (add a reshape before it)`);
        const [h, w] = shape;
        const k = layer.kernel;
        const s = layer.stride;
        if (layer.type === 'conv2d') {
          const out = (n: number) => (layer.padding === 'same' ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1);
          if (out(h) < 1 || out(w) < 1) throw new Error(`${where}: a ${k}×${k} kernel does not fit a ${h}×${w} input without padding`);
          shape = [out(h), out(w), layer.filters];
        } else {
          const out = (n: number) => (layer.padding === 'same' ? n * s : (n - 1) * s + k);
          shape = [out(h), out(w), layer.filters];
        }
        break;
      }
      case 'reshape':
        if (size(layer.shape) !== size(shape)) {
          throw new Error(
            `${where}: cannot reshape [${shape.join(', ')}] (${size(shape)} values) to [${layer.shape.join(', ')}] (${size(layer.shape)} values)`,
          );
        }
        shape = [...layer.shape];
        break;
      case 'flatten':
        shape = [size(shape)];
        break;
      case 'minibatchDiscrimination':
        if (shape.length !== 1) throw new Error(`${where}: needs flat features, got [${shape.join(', ')}] (add a flatten or dense layer before it)`);
        shape = [shape[0] + layer.kernels];
        break;
      default:
        break;
    }
    shapes.push([...shape]);
  });
  return shapes;
}
