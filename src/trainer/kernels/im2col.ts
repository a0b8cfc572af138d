/**
 * The data movement of a convolution lowered to one matrix product, written as plain loops over a
 * Float32Array (the WASM heap, so nothing is copied in or out). NHWC input, filters
 * [filterHeight, filterWidth, inChannels, outChannels]; a "column" row is one output position's
 * receptive field in filter order (kh, kw, c), so the filter is already the right-hand matrix.
 */
import type { backend_util } from '@tensorflow/tfjs-core';

export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
}

export function geometryOf(info: backend_util.Conv2DInfo): ConvGeometry {
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/** A 1×1, stride-1, unpadded convolution: the input already is the column matrix. */
export function isPointwise(g: ConvGeometry): boolean {
  return (
    g.filterHeight === 1 &&
    g.filterWidth === 1 &&
    g.strideHeight === 1 &&
    g.strideWidth === 1 &&
    g.padTop === 0 &&
    g.padLeft === 0 &&
    g.outHeight === g.inHeight &&
    g.outWidth === g.inWidth
  );
}

/** Below this length a JS loop beats the call overhead of copyWithin/fill. */
const SHORT_RUN = 24;

function zero(heap: Float32Array, at: number, length: number): void {
  if (length >= SHORT_RUN) heap.fill(0, at, at + length);
  else for (let i = 0; i < length; i++) heap[at + i] = 0;
}

/**
 * The receptive field of one filter row (kh) at one output position, clipped to the image: filter
 * columns [lo, hi) fall inside. With dilationWidth 1 that is one contiguous stretch of x, so the
 * loops below move few long runs instead of many channel-sized ones.
 */
function clip(iw0: number, filterWidth: number, inWidth: number): number {
  const lo = Math.min(filterWidth, Math.max(0, -iw0));
  const hi = Math.max(lo, Math.min(filterWidth, inWidth - iw0));
  return lo | (hi << 16);
}

/** columns[B·OH·OW, KH·KW·C] ← the receptive field of every output position (zeros where padded). */
export function im2col(heap: Float32Array, x: number, columns: number, g: ConvGeometry): void {
  const { inHeight, inWidth, inChannels: c, filterHeight, filterWidth, dilationHeight, dilationWidth } = g;
  const rowLength = filterWidth * c;
  const imageSize = inHeight * inWidth * c;
  let column = columns;
  for (let b = 0; b < g.batch; b++) {
    const image = x + b * imageSize;
    for (let oh = 0; oh < g.outHeight; oh++) {
      const ih0 = oh * g.strideHeight - g.padTop;
      for (let ow = 0; ow < g.outWidth; ow++) {
        const iw0 = ow * g.strideWidth - g.padLeft;
        const span = dilationWidth === 1 ? clip(iw0, filterWidth, inWidth) : 0;
        const lo = (span & 0xffff) * c;
        const hi = (span >>> 16) * c;
        for (let kh = 0; kh < filterHeight; kh++, column += rowLength) {
          const ih = ih0 + kh * dilationHeight;
          if (ih < 0 || ih >= inHeight) {
            zero(heap, column, rowLength);
          } else if (dilationWidth === 1) {
            const from = image + (ih * inWidth + iw0) * c;
            if (lo > 0) zero(heap, column, lo);
            if (hi - lo >= SHORT_RUN) heap.copyWithin(column + lo, from + lo, from + hi);
            else for (let i = lo; i < hi; i++) heap[column + i] = heap[from + i];
            if (hi < rowLength) zero(heap, column + hi, rowLength - hi);
          } else {
            const line = image + ih * inWidth * c;
            for (let kw = 0; kw < filterWidth; kw++) {
              const iw = iw0 + kw * dilationWidth;
              const to = column + kw * c;
              if (iw < 0 || iw >= inWidth) zero(heap, to, c);
              else heap.copyWithin(to, line + iw * c, line + (iw + 1) * c);
            }
          }
        }
      }
    }
  }
}

/** dx[B, H, W, C] ← the sum of every column entry over the input positions it was copied from. */
export function col2im(heap: Float32Array, columns: number, dx: number, g: ConvGeometry): void {
  const { inHeight, inWidth, inChannels: c, filterHeight, filterWidth, dilationHeight, dilationWidth } = g;
  const rowLength = filterWidth * c;
  const imageSize = inHeight * inWidth * c;
  zero(heap, dx, g.batch * imageSize);
  let column = columns;
  for (let b = 0; b < g.batch; b++) {
    const image = dx + b * imageSize;
    for (let oh = 0; oh < g.outHeight; oh++) {
      const ih0 = oh * g.strideHeight - g.padTop;
      for (let ow = 0; ow < g.outWidth; ow++) {
        const iw0 = ow * g.strideWidth - g.padLeft;
        const span = dilationWidth === 1 ? clip(iw0, filterWidth, inWidth) : 0;
        const lo = (span & 0xffff) * c;
        const hi = (span >>> 16) * c;
        for (let kh = 0; kh < filterHeight; kh++, column += rowLength) {
          const ih = ih0 + kh * dilationHeight;
          if (ih < 0 || ih >= inHeight) continue;
          if (dilationWidth === 1) {
            const to = image + (ih * inWidth + iw0) * c;
            for (let i = lo; i < hi; i++) heap[to + i] += heap[column + i];
          } else {
            const line = image + ih * inWidth * c;
            for (let kw = 0; kw < filterWidth; kw++) {
              const iw = iw0 + kw * dilationWidth;
              if (iw < 0 || iw >= inWidth) continue;
              const to = line + iw * c;
              const from = column + kw * c;
              for (let i = 0; i < c; i++) heap[to + i] += heap[from + i];
            }
          }
        }
      }
    }
  }
}

/** Output positions gathered per block: enough for long contiguous writes, few enough to stay in L1. */
const BLOCK = 64;

/**
 * The transposed column matrix, columnsᵀ[KH·KW·C, B·OH·OW], so that the filter gradient
 * columnsᵀ·dy is a plain product (the WASM backend's transposed products are slow). Gathered a
 * block of output positions at a time: the block's source pixels stay in cache while each
 * (kh, kw, c) row receives one contiguous stretch.
 */
export function im2colTransposed(heap: Float32Array, x: number, columnsT: number, g: ConvGeometry): void {
  const { inHeight, inWidth, inChannels: c, outHeight, outWidth, filterHeight, filterWidth } = g;
  const taps = filterHeight * filterWidth;
  const positions = g.batch * outHeight * outWidth;
  const sources = new Int32Array(BLOCK * taps);
  for (let n0 = 0; n0 < positions; n0 += BLOCK) {
    const count = Math.min(BLOCK, positions - n0);
    for (let j = 0; j < count; j++) {
      const n = n0 + j;
      const ow = n % outWidth;
      const oh = Math.floor(n / outWidth) % outHeight;
      const b = Math.floor(n / (outWidth * outHeight));
      for (let kh = 0; kh < filterHeight; kh++) {
        const ih = oh * g.strideHeight - g.padTop + kh * g.dilationHeight;
        for (let kw = 0; kw < filterWidth; kw++) {
          const iw = ow * g.strideWidth - g.padLeft + kw * g.dilationWidth;
          const inside = ih >= 0 && ih < inHeight && iw >= 0 && iw < inWidth;
          sources[(kh * filterWidth + kw) * BLOCK + j] = inside ? x + ((b * inHeight + ih) * inWidth + iw) * c : -1;
        }
      }
    }
    for (let t = 0; t < taps; t++) {
      const tapSources = t * BLOCK;
      for (let ch = 0; ch < c; ch++) {
        const row = columnsT + (t * c + ch) * positions + n0;
        for (let j = 0; j < count; j++) {
          const source = sources[tapSources + j];
          heap[row + j] = source < 0 ? 0 : heap[source + ch];
        }
      }
    }
  }
}

/** out[cols, rows] ← in[rows, cols]ᵀ, in tiles so both sides are read and written in cache lines. */
export function transpose2d(heap: Float32Array, input: number, output: number, rows: number, cols: number): void {
  const TILE = 32;
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let r = r0; r < r1; r++) {
        const from = input + r * cols;
        for (let col = c0; col < c1; col++) heap[output + col * rows + r] = heap[from + col];
      }
    }
  }
}

/**
 * im2col's copies as [input, column, length] triples in bytes, input relative to x (-1: zeros)
 * and column relative to the column matrix, neighbours merged where both sides are contiguous.
 * It depends on the geometry only, so it is built once and walked by heapSimd's gather/scatterAdd.
 */
export function runList(g: ConvGeometry): Int32Array {
  const { inHeight, inWidth, inChannels: c, filterHeight, filterWidth, dilationHeight, dilationWidth } = g;
  const rowLength = filterWidth * c;
  const imageSize = inHeight * inWidth * c;
  const runs: number[] = [];
  /** Offsets and length in floats here, bytes in the list. */
  const push = (input: number, column: number, length: number) => {
    const [from, to, bytes] = [input < 0 ? -1 : 4 * input, 4 * column, 4 * length];
    const n = runs.length;
    if (n > 0 && runs[n - 2] + runs[n - 1] === to && (from < 0 ? runs[n - 3] < 0 : runs[n - 3] >= 0 && runs[n - 3] + runs[n - 1] === from)) {
      runs[n - 1] += bytes;
    } else {
      runs.push(from, to, bytes);
    }
  };
  let column = 0;
  for (let b = 0; b < g.batch; b++) {
    const image = b * imageSize;
    for (let oh = 0; oh < g.outHeight; oh++) {
      const ih0 = oh * g.strideHeight - g.padTop;
      for (let ow = 0; ow < g.outWidth; ow++) {
        const iw0 = ow * g.strideWidth - g.padLeft;
        const span = dilationWidth === 1 ? clip(iw0, filterWidth, inWidth) : 0;
        const lo = (span & 0xffff) * c;
        const hi = (span >>> 16) * c;
        for (let kh = 0; kh < filterHeight; kh++, column += rowLength) {
          const ih = ih0 + kh * dilationHeight;
          if (ih < 0 || ih >= inHeight) {
            push(-1, column, rowLength);
          } else if (dilationWidth === 1) {
            const from = image + (ih * inWidth + iw0) * c;
            if (lo > 0) push(-1, column, lo);
            if (hi > lo) push(from + lo, column + lo, hi - lo);
            if (hi < rowLength) push(-1, column + hi, rowLength - hi);
          } else {
            const line = image + ih * inWidth * c;
            for (let kw = 0; kw < filterWidth; kw++) {
              const iw = iw0 + kw * dilationWidth;
              push(iw < 0 || iw >= inWidth ? -1 : line + iw * c, column + kw * c, c);
            }
          }
        }
      }
    }
  }
  return Int32Array.from(runs);
}

/**
 * For filter tap t = kh·KW + kw and output position n, the byte offset in x of the pixel the tap
 * reads there, or -1 in the padding: table[t·positions + n]. Walked by heapSimd's
 * gatherTransposed to build columnsᵀ one tap at a time.
 */
export function tapTable(g: ConvGeometry): Int32Array {
  const { inHeight, inWidth, inChannels: c, outHeight, outWidth, filterHeight, filterWidth } = g;
  const positions = g.batch * outHeight * outWidth;
  const table = new Int32Array(filterHeight * filterWidth * positions);
  for (let kh = 0; kh < filterHeight; kh++) {
    for (let kw = 0; kw < filterWidth; kw++) {
      let at = (kh * filterWidth + kw) * positions;
      for (let b = 0; b < g.batch; b++) {
        for (let oh = 0; oh < outHeight; oh++) {
          const ih = oh * g.strideHeight - g.padTop + kh * g.dilationHeight;
          for (let ow = 0; ow < outWidth; ow++, at++) {
            const iw = ow * g.strideWidth - g.padLeft + kw * g.dilationWidth;
            table[at] = ih >= 0 && ih < inHeight && iw >= 0 && iw < inWidth ? 4 * ((b * inHeight + ih) * inWidth + iw) * c : -1;
          }
        }
      }
    }
  }
  return table;
}
