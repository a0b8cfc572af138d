/**
 * The trainer as a child of the extension host: JSON-RPC over the Node IPC channel (stdout and
 * stderr stay free for libraries' prints, which the extension shows in its Output channel).
 * The child exits on its own when its parent goes away.
 */
import { createMessageConnection, IPCMessageReader, IPCMessageWriter, ResponseError } from 'vscode-jsonrpc/node';
import {
  controlRunRequest,
  didChangeControls,
  didUpdateLaboratory,
  type ControlState,
  didEndRun,
  didLogHistogram,
  didLogMetrics,
  didRaiseAlert,
  didWriteImageSamples,
  didWriteSamples,
  startRunRequest,
  stopRunRequest,
  type StartRunResult,
} from '../protocol/trainerRpc';
import { isProcessAlive } from '../runs/runReader';
import { ConfigError } from './configFile';
import { ControlError, TrainingControls } from './controls';
import { DataError } from './data';
import { faults } from './faults';
import { train } from './train';

/** Error codes of `run/start` failures the user must fix (as opposed to trainer crashes). */
export const INVALID_CONFIG_ERROR = -32001;

/** Time allowed for a clean stop (finish the step, checkpoint) once the parent is gone. */
const ORPHAN_GRACE_MS = 3000;

if (!process.send) {
  process.stderr.write('gan-workbench trainer: must be started by the extension with an IPC channel; use the gan-workbench CLI instead.\n');
  process.exit(2);
}

const connection = createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));
const controller = new AbortController();
let started = false;
const controls = new TrainingControls();
/** The controls as the trainer last told them (null before the run started). */
let controlState: ControlState | null = null;

function exitSoon(code: number): void {
  setTimeout(() => process.exit(code), 50).unref();
}

function orphaned(reason: string): void {
  process.stderr.write(`trainer: ${reason}; stopping\n`);
  controller.abort();
  setTimeout(() => process.exit(1), started ? ORPHAN_GRACE_MS : 0).unref();
}

process.on('disconnect', () => orphaned('the extension host disconnected'));
// Another window (or a user) asking this trainer to stop: like a stop request, a checkpoint is written.
process.on('SIGTERM', () => controller.abort());
// A parent killed with SIGKILL may leave the channel open for a moment; watch its pid as well.
const parentPid = process.ppid;
setInterval(() => {
  if (!isProcessAlive(parentPid) || process.ppid !== parentPid) orphaned(`the parent process ${parentPid} is gone`);
}, 1000).unref();

connection.onRequest(startRunRequest, (params) => {
  if (started) throw new ResponseError(-32002, 'this trainer process already runs a run');
  started = true;
  return new Promise<StartRunResult>((resolve, reject) => {
    let runId = '';
    train({
      configPath: params.resumeFrom ? undefined : params.configPath,
      resumeFrom: params.resumeFrom,
      forkFrom: params.forkFrom,
      forkStep: params.forkStep,
      settings: params.settings,
      runsDir: params.runsDir,
      backend: params.backend,
      steps: params.steps,
      seed: params.seed,
      signal: controller.signal,
      controls,
      liveLaboratory: true,
      observer: {
        onStart(run) {
          runId = run.runId;
          resolve({
            runId: run.runId,
            runDir: run.runDir,
            backend: run.backend,
            backendReason: run.backendReason,
            totalSteps: run.totalSteps,
            startStep: run.startStep,
          });
        },
        onMetrics: (record) => void connection.sendNotification(didLogMetrics, { runId, record }),
        onHistogram: (record) => void connection.sendNotification(didLogHistogram, { runId, record }),
        onSamples: (samples) => void connection.sendNotification(didWriteSamples, { runId, samples }),
        onImageSamples: (samples) => void connection.sendNotification(didWriteImageSamples, { runId, samples }),
        onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
        onAlert: (alert) => void connection.sendNotification(didRaiseAlert, { runId, alert }),
        onLaboratory: (samples) => void connection.sendNotification(didUpdateLaboratory, { runId, samples }),
        onControls: (state) => {
          controlState = state;
          void connection.sendNotification(didChangeControls, { runId, state });
        },
      },
    })
      .then(async (result) => {
        await connection.sendNotification(didEndRun, { runId: result.runId, status: result.status, step: result.step, error: result.error });
        exitSoon(result.status === 'failed' ? 1 : 0);
      })
      .catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        // Failing before the run started: the request answers with the reason.
        reject(new ResponseError(error instanceof ConfigError || error instanceof DataError ? INVALID_CONFIG_ERROR : -32603, message));
        exitSoon(1);
      });
  });
});

connection.onRequest(stopRunRequest, () => {
  // (A hung trainer, for the reliability tests.)
  if (faults().ignoreStop) return new Promise<void>(() => undefined);
  controller.abort();
});

/** Error code of a control request that cannot be carried out (not paused, a bad value). */
export const CONTROL_REFUSED_ERROR = -32003;

connection.onRequest(controlRunRequest, (action) => {
  if (!started || !controlState) throw new ResponseError(CONTROL_REFUSED_ERROR, 'the run has not started yet');
  try {
    controls.apply(action);
  } catch (error) {
    if (error instanceof ControlError) throw new ResponseError(CONTROL_REFUSED_ERROR, error.message);
    throw error;
  }
  // (apply told the new state through onControls; changes of rates and k follow once the loop takes them.)
  return controlState;
});

connection.listen();
