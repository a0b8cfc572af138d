/**
 * Checkpoints: both networks (with batch-norm state), both optimizers' state, the random state and
 * the step. Each is written into a temporary folder and renamed into place, so a checkpoint
 * folder either is complete or does not exist; the manifest carries a SHA-256 of the weights.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { checkpointDirName, RUN_FILES } from '../protocol/runDirectory';
import { listCheckpoints } from '../runs/runReader';
import type { Gan } from './gan';
import { faults, injectWriteFault } from './faults';
import { Random } from './random';

const FORMAT = 'gan-workbench-checkpoint/1';
type Group =
  | 'generator'
  | 'discriminator'
  | 'generatorOptimizer'
  | 'discriminatorOptimizer'
  | 'generatorAdamBetas'
  | 'discriminatorAdamBetas'
  | 'generatorAverage'
  | 'historicalAverage';

/**
 * Adam's running products β1ᵗ and β2ᵗ. tfjs's setWeights recomputes them as pow(β, t+1), which
 * differs in the last bits from the product accumulated step by step; saved as they are, a
 * resumed run continues bit for bit.
 */
function adamBetas(optimizer: tf.Optimizer): { accBeta1: tf.Variable; accBeta2: tf.Variable } | null {
  const adam = optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
  return adam.accBeta1 instanceof tf.Variable && adam.accBeta2 instanceof tf.Variable ? { accBeta1: adam.accBeta1, accBeta2: adam.accBeta2 } : null;
}

interface TensorEntry {
  group: Group;
  name: string;
  shape: number[];
  /** Byte offset in weights.bin. */
  offset: number;
}

export interface CheckpointManifest {
  format: typeof FORMAT;
  step: number;
  createdAt: string;
  /** Seconds of training before this checkpoint (so the rate after resume stays right). */
  elapsedSeconds: number;
  random: ReturnType<Random['state']>;
  weightsSha256: string;
  weightsBytes: number;
  tensors: TensorEntry[];
}

export class CheckpointError extends Error {}

async function writeDurably(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function collect(gan: Gan): Promise<{ group: Group; name: string; tensor: tf.Tensor }[]> {
  const entries: { group: Group; name: string; tensor: tf.Tensor }[] = [];
  for (const { name, variable } of gan.generator.namedVariables()) entries.push({ group: 'generator', name, tensor: variable });
  for (const { name, variable } of gan.discriminator.namedVariables()) entries.push({ group: 'discriminator', name, tensor: variable });
  for (const { name, variable } of gan.generatorAverage?.namedVariables() ?? []) entries.push({ group: 'generatorAverage', name, tensor: variable });
  for (const { name, variable } of gan.historicalAverages?.namedVariables() ?? []) entries.push({ group: 'historicalAverage', name, tensor: variable });
  for (const { name, tensor } of await gan.generatorOptimizer.getWeights()) entries.push({ group: 'generatorOptimizer', name, tensor });
  for (const { name, tensor } of await gan.discriminatorOptimizer.getWeights()) entries.push({ group: 'discriminatorOptimizer', name, tensor });
  for (const [group, optimizer] of [
    ['generatorAdamBetas', gan.generatorOptimizer],
    ['discriminatorAdamBetas', gan.discriminatorOptimizer],
  ] as const) {
    const betas = adamBetas(optimizer);
    if (betas) entries.push({ group, name: 'accBeta1', tensor: betas.accBeta1 }, { group, name: 'accBeta2', tensor: betas.accBeta2 });
  }
  return entries;
}

export async function saveCheckpoint(runDir: string, gan: Gan, step: number, elapsedSeconds: number): Promise<string> {
  const root = path.join(runDir, RUN_FILES.checkpoints);
  await mkdir(root, { recursive: true });
  const finalDir = path.join(root, checkpointDirName(step));
  const tempDir = path.join(root, `.tmp-${checkpointDirName(step)}-${process.pid}`);
  await rm(tempDir, { recursive: true, force: true });
  await mkdir(tempDir);
  try {
    const entries = await collect(gan);
    const buffers: Uint8Array[] = [];
    const tensors: TensorEntry[] = [];
    let offset = 0;
    for (const { group, name, tensor } of entries) {
      const values = new Float32Array(await tensor.data());
      tensors.push({ group, name, shape: tensor.shape, offset });
      buffers.push(new Uint8Array(values.buffer));
      offset += values.byteLength;
    }
    // The optimizers' iteration counters are fresh scalars, not variables.
    const optimizerTensors = entries.filter((e) => e.group.endsWith('Optimizer') && !(e.tensor instanceof tf.Variable));
    tf.dispose(optimizerTensors.map((e) => e.tensor));
    const weights = Buffer.concat(buffers);
    const manifest: CheckpointManifest = {
      format: FORMAT,
      step,
      createdAt: new Date().toISOString(),
      elapsedSeconds,
      random: gan.random.state(),
      weightsSha256: createHash('sha256').update(weights).digest('hex'),
      weightsBytes: weights.byteLength,
      tensors,
    };
    injectWriteFault('checkpoint', step, tempDir);
    await writeDurably(path.join(tempDir, 'weights.bin'), weights);
    if (faults().killInCheckpoint === step) process.kill(process.pid, 'SIGKILL');
    // The manifest goes last: a folder with a manifest has all its weights.
    await writeDurably(path.join(tempDir, 'manifest.json'), JSON.stringify(manifest));
    await rm(finalDir, { recursive: true, force: true });
    await rename(tempDir, finalDir);
  } catch (error) {
    await rm(tempDir, { recursive: true, force: true });
    throw error;
  }
  return finalDir;
}

/** Keeps the newest `keep` checkpoints and removes stale temporary folders. */
export async function pruneCheckpoints(runDir: string, keep: number): Promise<void> {
  const root = path.join(runDir, RUN_FILES.checkpoints);
  const steps = await listCheckpoints(runDir);
  for (const step of steps.slice(0, Math.max(0, steps.length - keep))) {
    await rm(path.join(root, checkpointDirName(step)), { recursive: true, force: true });
  }
  await removeCheckpointLeftovers(runDir);
}

export async function readCheckpoint(runDir: string, step: number): Promise<{ manifest: CheckpointManifest; weights: Buffer }> {
  const dir = path.join(runDir, RUN_FILES.checkpoints, checkpointDirName(step));
  let manifest: CheckpointManifest;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as CheckpointManifest;
  } catch (error) {
    throw new CheckpointError(`${dir}: unreadable manifest (${(error as Error).message})`);
  }
  if (manifest.format !== FORMAT) throw new CheckpointError(`${dir}: unknown checkpoint format ${String(manifest.format)}`);
  const weights = await readFile(path.join(dir, 'weights.bin')).catch((error: Error) => {
    throw new CheckpointError(`${dir}: unreadable weights (${error.message})`);
  });
  if (weights.byteLength !== manifest.weightsBytes) {
    throw new CheckpointError(`${dir}: weights.bin has ${weights.byteLength} bytes, the manifest says ${manifest.weightsBytes}`);
  }
  if (createHash('sha256').update(weights).digest('hex') !== manifest.weightsSha256) {
    throw new CheckpointError(`${dir}: weights.bin does not match its checksum`);
  }
  return { manifest, weights };
}

/**
 * Restores a checkpoint into `gan` (built from the same config). Returns its manifest. A fork that
 * changed an optimizer's type passes `optimizers: false`: the networks are restored, the
 * optimizers start fresh.
 */
export async function restoreCheckpoint(
  runDir: string,
  step: number,
  gan: Gan,
  options: { optimizers: boolean } = { optimizers: true },
): Promise<CheckpointManifest> {
  const { manifest, weights } = await readCheckpoint(runDir, step);
  const byGroup = (group: Group) => manifest.tensors.filter((t) => t.group === group);
  const sizeOf = (entry: TensorEntry) => entry.shape.reduce((a, b) => a * b, 1);
  for (const entry of manifest.tensors) {
    if (entry.offset < 0 || entry.offset + sizeOf(entry) * 4 > weights.byteLength) {
      throw new CheckpointError(`checkpoint step ${step}: ${entry.name} lies outside weights.bin`);
    }
  }
  const networks = [
    ['generator', gan.generator],
    ['discriminator', gan.discriminator],
  ] as const;
  // Check everything before assigning anything: a checkpoint that does not fit leaves the model untouched.
  const assignments: { variable: tf.Variable; entry: TensorEntry }[] = [];
  for (const [group, net] of networks) {
    const saved = new Map(byGroup(group).map((entry) => [entry.name, entry]));
    for (const { name, variable } of net.namedVariables()) {
      const entry = saved.get(name);
      if (!entry || entry.shape.join('x') !== variable.shape.join('x')) {
        throw new CheckpointError(
          `checkpoint step ${step} does not fit the model: ${name} ${entry ? `has shape [${entry.shape.join(', ')}], expected [${variable.shape.join(', ')}]` : 'is missing'}`,
        );
      }
      assignments.push({ variable, entry });
    }
  }
  const tensorOf = (entry: TensorEntry): tf.Tensor => {
    const values = new Float32Array(weights.buffer.slice(weights.byteOffset + entry.offset, weights.byteOffset + entry.offset + sizeOf(entry) * 4));
    return tf.tensor(values, entry.shape);
  };
  for (const { variable, entry } of assignments) {
    const value = tensorOf(entry);
    variable.assign(value);
    value.dispose();
  }
  // G's average: restored when the checkpoint has one that fits, else started from the restored G.
  if (gan.generatorAverage) {
    const saved = new Map(byGroup('generatorAverage').map((entry) => [entry.name, entry]));
    const targets = gan.generatorAverage.namedVariables();
    if (targets.every(({ name, variable }) => saved.get(name)?.shape.join('x') === variable.shape.join('x'))) {
      for (const { name, variable } of targets) {
        const value = tensorOf(saved.get(name)!);
        variable.assign(value);
        value.dispose();
      }
    } else {
      gan.generatorAverage.reset();
    }
  }
  // Both players' historical averages (training.historicalAveraging) likewise: restored when they fit, else started from the restored weights.
  if (gan.historicalAverages) {
    const saved = new Map(byGroup('historicalAverage').map((entry) => [entry.name, entry]));
    const targets = gan.historicalAverages.namedVariables();
    if (targets.every(({ name, variable }) => saved.get(name)?.shape.join('x') === variable.shape.join('x'))) {
      for (const { name, variable } of targets) {
        const value = tensorOf(saved.get(name)!);
        variable.assign(variable.rank === 0 ? tf.reshape(value, []) : value);
        value.dispose();
      }
    } else {
      gan.historicalAverages.reset();
    }
  }
  for (const [group, optimizer] of [
    ['generatorOptimizer', gan.generatorOptimizer],
    ['discriminatorOptimizer', gan.discriminatorOptimizer],
  ] as const) {
    if (!options.optimizers) break;
    const entries = byGroup(group);
    if (entries.length > 0) {
      const named = entries.map((entry) => ({ name: entry.name, tensor: tensorOf(entry) }));
      await optimizer.setWeights(named);
      tf.dispose(named.map((n) => n.tensor));
    }
  }
  for (const [group, optimizer] of [
    ['generatorAdamBetas', gan.generatorOptimizer],
    ['discriminatorAdamBetas', gan.discriminatorOptimizer],
  ] as const) {
    const betas = options.optimizers ? adamBetas(optimizer) : null;
    for (const entry of byGroup(group)) {
      const target = betas?.[entry.name as 'accBeta1' | 'accBeta2'];
      if (!target) continue;
      tf.tidy(() => target.assign(tf.reshape(tensorOf(entry), [])));
    }
  }
  gan.random = new Random('restored', manifest.random);
  return manifest;
}

/**
 * Restores the newest checkpoint that reads back whole, falling back to older ones when the
 * newest is truncated or corrupt. Returns the manifest and what was skipped, and why.
 */
export async function restoreLatestCheckpoint(runDir: string, gan: Gan): Promise<{ manifest: CheckpointManifest; skipped: string[] }> {
  const steps = await listCheckpoints(runDir);
  const skipped: string[] = [];
  for (const step of [...steps].reverse()) {
    try {
      return { manifest: await restoreCheckpoint(runDir, step, gan), skipped };
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      skipped.push(error.message);
    }
  }
  throw new CheckpointError(steps.length === 0 ? `${runDir}: has no checkpoint` : `${runDir}: no usable checkpoint (${skipped.join('; ')})`);
}

/** Removes temporary folders left by a checkpoint write that was interrupted. */
export async function removeCheckpointLeftovers(runDir: string): Promise<void> {
  const root = path.join(runDir, RUN_FILES.checkpoints);
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (name.startsWith('.tmp-')) await rm(path.join(root, name), { recursive: true, force: true });
  }
}
