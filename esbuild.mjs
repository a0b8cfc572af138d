// One esbuild context per runtime: the extension host (node, `vscode` external), the trainer
// (node, native tfjs packages external and loaded lazily) and the webviews (browser).
import * as esbuild from 'esbuild';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
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
    entryPoints: { cli: 'src/trainer/cli.ts', trainer: 'src/trainer/child.ts' },
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

/** Files the bundles load at run time: the WASM binaries and the config's JSON Schema. */
async function writeAssets() {
  await mkdir(outdir, { recursive: true });
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  for (const file of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
    await copyFile(path.join(wasmDir, file), path.join(outdir, file));
  }
  // "GAN: New experiment" offers the examples as templates.
  await mkdir(path.join(outdir, 'templates'), { recursive: true });
  for (const file of (await readdir('examples')).filter((f) => f.endsWith('.gan.json'))) {
    await copyFile(path.join('examples', file), path.join(outdir, 'templates', file));
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

await writeAssets();
if (watch) {
  const ctxs = await Promise.all(contexts.map((options) => esbuild.context(options)));
  await Promise.all(ctxs.map((ctx) => ctx.watch()));
  console.log('[watch] watching extension, trainer and webview sources');
} else {
  await Promise.all(contexts.map((options) => esbuild.build(options)));
}
