/**
 * The npm install behind "GAN: Install GPU backend", without `vscode`, so a test drives it with a
 * stand-in npm. Its install script downloads libtensorflow 2.9.1 (CUDA 11.2, cuDNN 8.1); where that
 * fails, the result carries npm's own reason.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The version the bundled tfjs-core speaks to (tfjs packages are released together). */
export const GPU_PACKAGE = '@tensorflow/tfjs-node-gpu@4.22.0';

export interface InstallResult {
  ok: boolean;
  /** The last meaningful line npm printed (the reason, when it failed). */
  summary: string;
}

/** Runs `npm install` of the GPU package into `dir`; its output goes to `log`. No vscode here, so tests run it with a stand-in npm. */
export async function runGpuInstall(
  dir: string,
  log: (text: string) => void,
  npm = process.platform === 'win32' ? 'npm.cmd' : 'npm',
  token?: { isCancellationRequested: boolean; onCancellationRequested(listener: () => void): unknown },
): Promise<InstallResult> {
  await mkdir(dir, { recursive: true });
  // A package.json of its own, so npm installs here and not into a parent project.
  await writeFile(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'gan-workbench-native', private: true, description: 'Native TensorFlow.js backends for GAN Workbench' }, null, 2),
  );
  const args = ['install', '--no-audit', '--no-fund', '--no-save', '--foreground-scripts', GPU_PACKAGE];
  log(`$ ${npm} ${args.join(' ')}   (in ${dir})\n`);
  return new Promise((resolve) => {
    let lastLines: string[] = [];
    const child = spawn(npm, args, { cwd: dir, env: { ...process.env, npm_config_yes: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer) => {
      const text = chunk.toString();
      log(text);
      lastLines = [...lastLines, ...text.split('\n').filter((line) => line.trim() !== '')].slice(-20);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    token?.onCancellationRequested(() => child.kill());
    child.on('error', (error) => resolve({ ok: false, summary: `npm could not be started (${error.message}); is Node.js's npm on the PATH?` }));
    child.on('close', (code) => {
      if (code === 0) {
        resolve({ ok: true, summary: `${GPU_PACKAGE} installed in ${dir}` });
        return;
      }
      // npm's reason is usually the first "npm error" line that is not its log banner.
      const reason =
        lastLines.find((line) => /error/i.test(line) && !/A complete log|npm error (code|path|command|cwd)/.test(line)) ??
        lastLines[lastLines.length - 1] ??
        `npm exited with ${code}`;
      resolve({ ok: false, summary: token?.isCancellationRequested ? 'cancelled' : reason.replace(/^npm (error|ERR!)\s*/, '').trim() });
    });
  });
}
