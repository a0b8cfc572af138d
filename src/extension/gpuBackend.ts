/**
 * "GAN: Install GPU backend": installs @tensorflow/tfjs-node-gpu into the extension's global
 * storage with npm, under a progress notification, and tells the trainer where it is
 * (GAN_WORKBENCH_NATIVE_DIR). Its install script downloads libtensorflow 2.9.1 for CUDA 11.2 and
 * cuDNN 8.1; where that download or the CUDA libraries are missing, the user reads npm's own
 * reason and the log, and training goes on with WASM.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import { GPU_PACKAGE, runGpuInstall } from './gpuInstall';

/** Where the extension installs native packages: `<global storage>/native`. */
export function nativeDir(context: vscode.ExtensionContext): string {
  return path.join(context.globalStorageUri.fsPath, 'native');
}

/** The command: progress notification, then a message that says what happened and what to do. */
export async function installGpuBackend(context: vscode.ExtensionContext, output: vscode.OutputChannel): Promise<void> {
  const dir = nativeDir(context);
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'GAN Workbench: installing the GPU backend (@tensorflow/tfjs-node-gpu)', cancellable: true },
    async (progress, token) => {
      progress.report({ message: 'npm install… (it downloads libtensorflow, a few hundred MB)' });
      output.appendLine(`Installing ${GPU_PACKAGE} into ${dir}`);
      return runGpuInstall(dir, (text) => output.append(text), undefined, token);
    },
  );
  if (result.ok) {
    void vscode.window.showInformationMessage(
      'GAN Workbench: the GPU backend is installed. New runs use it when CUDA 11.2 and cuDNN 8.1 are there (run.json records the backend, and why another was used).',
    );
    return;
  }
  const choice = await vscode.window.showErrorMessage(
    `GAN Workbench: the GPU backend could not be installed: ${result.summary}. It needs network access to download libtensorflow 2.9.1, and CUDA 11.2 with cuDNN 8.1 to run; runs keep using WASM.`,
    'Show Log',
  );
  if (choice === 'Show Log') output.show();
}
