/**
 * Stopping a run this window did not start (a terminal's `gan-workbench train`, another window's
 * trainer): SIGTERM to its process, which both the CLI and the trainer child treat like Ctrl-C
 * (finish the step, write a checkpoint, end as `stopped`). Only on the machine that runs it, and
 * only when the pid is still a GAN Workbench trainer: a pid can be reused after a crash.
 */
import { existsSync } from 'node:fs';
import { readFile, readlink, realpath } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RunInfo } from '../protocol/runDirectory';
import { isProcessAlive } from './runReader';

export type StopResult = { ok: true; pid: number } | { ok: false; reason: string };

/** A folder that holds our bundle: the CLI, the trainer and the WASM binary side by side. */
function isOurDist(dir: string): boolean {
  return ['cli.js', 'trainer.js', 'tfjs-backend-wasm.wasm'].every((name) => existsSync(path.join(dir, name)));
}

interface ProcessInfo {
  cmdline(pid: number): Promise<string>;
  cwd(pid: number): Promise<string>;
}

const procfs: ProcessInfo = {
  cmdline: (pid) => readFile(`/proc/${pid}/cmdline`, 'utf8'),
  cwd: (pid) => readlink(`/proc/${pid}/cwd`),
};

/**
 * Whether `pid` runs our CLI or trainer: its script is `cli.js` or `trainer.js` (or the
 * `gan-workbench` bin link to it) in a folder that holds our whole bundle, not just any `cli.js`
 * (webpack's, Playwright's…). Linux only (/proc); elsewhere it cannot be told, so the answer is no.
 */
export async function isTrainerProcess(pid: number, proc: ProcessInfo = procfs): Promise<boolean> {
  const cmdline = await proc.cmdline(pid).catch(() => null);
  if (cmdline === null) return false;
  const cwd = await proc.cwd(pid).catch(() => '/');
  for (const arg of cmdline.split('\0')) {
    if (!/(^|[/\\])((cli|trainer)\.js|gan-workbench)$/.test(arg)) continue;
    const script = await realpath(path.resolve(cwd, arg)).catch(() => null);
    if (script && /(cli|trainer)\.js$/.test(script) && isOurDist(path.dirname(script))) return true;
  }
  return false;
}

export async function stopForeignRun(info: RunInfo, deps = { isTrainer: isTrainerProcess, kill: process.kill.bind(process) as (pid: number, signal: string) => void }): Promise<StopResult> {
  if (info.status !== 'running') return { ok: false, reason: `it is ${info.status}` };
  if (info.pid === null) return { ok: false, reason: 'its run.json names no process' };
  if (info.host !== os.hostname()) return { ok: false, reason: `it runs on ${info.host}; stop it there` };
  if (!isProcessAlive(info.pid)) return { ok: false, reason: `its process ${info.pid} is gone` };
  if (!(await deps.isTrainer(info.pid))) return { ok: false, reason: `process ${info.pid} is not a GAN Workbench trainer (or this system cannot tell); stop it where it runs` };
  deps.kill(info.pid, 'SIGTERM');
  return { ok: true, pid: info.pid };
}
