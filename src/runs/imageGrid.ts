/**
 * Sample grids of image GANs: values in [-1, 1] (a tanh generator's range) tiled into one PNG,
 * with a 2-pixel gutter, encoded by pngjs (grayscale or RGB, as the data).
 */
import { PNG } from 'pngjs';

export interface GridLayout {
  /** Shape of one image: [height, width, channels], channels 1 or 3. */
  shape: readonly number[];
  columns: number;
  /** Pixels between images. */
  gutter?: number;
}

/** Columns of a near-square grid of `count` images. */
export function gridColumns(count: number): number {
  return Math.max(1, Math.ceil(Math.sqrt(count)));
}

/** Tiles `count` images (row-major, NHWC, in [-1, 1]) into a PNG. */
export function encodeImageGrid(values: Float32Array, count: number, layout: GridLayout): Buffer {
  const [height, width, channels] = layout.shape;
  const gutter = layout.gutter ?? 2;
  const columns = Math.min(layout.columns, Math.max(1, count));
  const rows = Math.ceil(count / columns);
  const png = new PNG({ width: columns * width + (columns + 1) * gutter, height: rows * height + (rows + 1) * gutter });
  // A mid-grey gutter separates digits on both black and white backgrounds.
  png.data.fill(128);
  for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
  const toByte = (v: number) => Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
  const size = height * width * channels;
  for (let n = 0; n < count; n++) {
    const left = gutter + (n % columns) * (width + gutter);
    const top = gutter + Math.floor(n / columns) * (height + gutter);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const source = n * size + (y * width + x) * channels;
        const target = ((top + y) * png.width + left + x) * 4;
        for (let c = 0; c < 3; c++) png.data[target + c] = toByte(values[source + (channels === 1 ? 0 : c)]);
      }
    }
  }
  return PNG.sync.write(png, { colorType: channels === 1 ? 0 : 2 });
}
