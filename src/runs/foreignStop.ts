/**
 * Stopping a run this window did not start (a terminal's `gan-workbench train`, another window's
 * trainer): SIGTERM to its process, which both the CLI and the trainer child treat like Ctrl-C
 * (finish the step, write a checkpoint, end as `stopped`). Only on the machine that runs it, and
 * only when the pid is still a GAN Workbench trainer: a pid can be reused after a crash.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type { RunInfo } from '../protocol/runDirectory';
import { isProcessAlive } from './runReader';

export type StopResult = { ok: true; pid: number } | { ok: false; reason: string };

/** Whether `pid` runs our CLI or trainer (Linux: its command line; elsewhere it cannot be told). */
export async function isTrainerProcess(pid: number, readCmdline = (p: number) => readFile(`/proc/${p}/cmdline`, 'utf8')): Promise<boolean> {
  const cmdline = await readCmdline(pid).catch(() => null);
  if (cmdline === null) return false;
  const args = cmdline.split('\0');
  return args.some((arg) => /(^|[/\\])(cli|trainer)\.js$/.test(arg) || /(^|[/\\])gan-workbench$/.test(arg));
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
