/**
 * The tfjs WASM backend on a shared heap, so worker threads can run kernels on tensors where they
 * lie (heapThreads.ts). tfjs-backend-wasm 4.22 under Node loads its single-threaded SIMD build,
 * which defines its own memory (min 256 pages, max 65536, not shared) and exports it; its threaded
 * build is never used under Node (tfjs issue #3830). Here the SIMD binary's memory section is
 * rewritten to declare the same memory shared (limits flag 0x03, which requires a maximum), and
 * the backend is pointed at that binary through tfjs's public `setWasmPaths(fileMap, true)`: with
 * platform fetch on, tfjs fetches the file map's entry and instantiates it itself, and Node's fetch
 * reads a data: URL, so nothing is written to disk and no tfjs code is patched.
 *
 * What else sees the heap as a SharedArrayBuffer, checked with tfjs-backend-wasm 4.22 on Node 20:
 * Emscripten's glue makes its HEAP views on `memory.buffer` and renews them when malloc grows the
 * memory (a shared memory grows in place; old views stay valid but short, as every user here
 * re-reads `HEAPF32` anyway); reading a tensor (`readSync`) copies with `HEAPU8.slice`, which gives
 * a plain ArrayBuffer; the glue's `TextDecoder` accepts shared views on Node. The test
 * test/unit/heapThreads.test.ts loads the backend so and runs it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { u32 } from './wasmAssembler';

const SIMD_BINARY = 'tfjs-backend-wasm-simd.wasm';
const BINARIES = ['tfjs-backend-wasm.wasm', SIMD_BINARY, 'tfjs-backend-wasm-threaded-simd.wasm'];
const MEMORY_SECTION = 5;

function readU32(bytes: Uint8Array, at: number): { value: number; next: number } {
  let [value, shift, next] = [0, 0, at];
  for (;;) {
    const byte = bytes[next++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(byte & 0x80)) return { value, next };
    if (next >= bytes.length) throw new Error('truncated LEB128');
  }
}

/**
 * A copy of a WebAssembly binary whose one defined memory is declared shared (with its maximum,
 * or 65536 pages where it has none), or null when the binary is not like that: no memory section,
 * several memories, already shared, or malformed.
 */
export function withSharedMemory(binary: Uint8Array): Uint8Array<ArrayBuffer> | null {
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (binary.length < 8 || magic.some((b, i) => binary[i] !== b)) return null;
  try {
    for (let at = 8; at < binary.length;) {
      const id = binary[at];
      const size = readU32(binary, at + 1);
      const start = size.next;
      const end = start + size.value;
      if (end > binary.length) return null;
      if (id === MEMORY_SECTION) {
        const count = readU32(binary, start);
        if (count.value !== 1) return null;
        const flags = binary[count.next];
        if (flags !== 0x00 && flags !== 0x01) return null;
        const min = readU32(binary, count.next + 1);
        const max = flags === 0x01 ? readU32(binary, min.next) : { value: 65536, next: min.next };
        if (max.next !== end) return null;
        const content = [1, 0x03, ...u32(min.value), ...u32(max.value)];
        const section = [MEMORY_SECTION, ...u32(content.length), ...content];
        const out = new Uint8Array(binary.length - (end - at) + section.length);
        out.set(binary.subarray(0, at));
        out.set(section, at);
        out.set(binary.subarray(end), at + section.length);
        return out;
      }
      at = end;
    }
  } catch {
    return null;
  }
  return null;
}

/**
 * The file map for tfjs's `setWasmPaths(map, true)` that loads the SIMD build on a shared memory,
 * or null where that cannot work: tfjs would not load the SIMD build here (no SIMD, or it would
 * load its threaded one), the binary does not patch or validate, or this Node's fetch cannot read
 * a data: URL. Then the caller loads the backend as it was, single-threaded.
 */
export async function sharedHeapWasmPaths(directory: string, flags: { simd: boolean; threads: boolean }): Promise<Record<string, string> | null> {
  if (!flags.simd || flags.threads || typeof fetch !== 'function' || typeof SharedArrayBuffer === 'undefined') return null;
  try {
    // A backend that then failed to load could not be loaded again (tfjs refuses a second init): try a shared memory first.
    if (!(new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer)) return null;
    const shared = withSharedMemory(readFileSync(path.join(directory, SIMD_BINARY)));
    if (!shared || !WebAssembly.validate(shared)) return null;
    const url = `data:application/wasm;base64,${Buffer.from(shared).toString('base64')}`;
    const fetched = new Uint8Array(await (await fetch(url)).arrayBuffer());
    if (fetched.length !== shared.length) return null;
    // tfjs wants an entry for every binary; under these flags it loads only the SIMD one.
    return Object.fromEntries(BINARIES.map((name) => [name, name === SIMD_BINARY ? url : path.join(directory, name)]));
  } catch {
    return null;
  }
}
