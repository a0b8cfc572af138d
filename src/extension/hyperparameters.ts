/**
 * "Modify hyperparameters and run" (and the fork command's edits): a quick pick of the usual fields
 * for the config's cost with their current values; picking one asks for a new value (from a list
 * for the cost and the generator cost), checked against the schema as it is typed; "Start run"
 * hands back the changed fields. The config file itself is not touched.
 */
import * as vscode from 'vscode';
import type { CostType, GanConfig } from '../protocol/config';
import { formatProblem } from '../protocol/config';
import { applySettings, parseSetting, type ConfigSetting } from '../protocol/configPatch';
import { COST_PATH, settingsWithCost, usualFields, type Field } from './hyperparameterFields';

export function valueAt(config: GanConfig, dotted: string): unknown {
  let value: unknown = config;
  for (const key of dotted.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function show(value: unknown): string {
  if (value === undefined) return '(absent)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

type Item = vscode.QuickPickItem & { action: 'start' | 'field' | 'other'; field?: Field };

/**
 * Lets the user change fields of `config`; returns the changes, or undefined when cancelled.
 * `title` names what will happen ("Run ring8 with…", "Fork … from step 1000").
 */
export interface EditOptions {
  /** Changes proposed up front (shown as changed; the user can change them again). */
  initial?: ConfigSetting[];
  /** A problem with the whole result that the schema cannot see (e.g. a fork's step count). */
  check?(config: GanConfig): string | undefined;
}

export async function editHyperparameters(
  config: GanConfig,
  title: string,
  startLabel: string,
  options: EditOptions = {},
): Promise<ConfigSetting[] | undefined> {
  const settings = new Map<string, ConfigSetting>((options.initial ?? []).map((s) => [s.path, s]));
  const current = (): GanConfig => {
    const result = applySettings(config, [...settings.values()]);
    return result.ok ? result.config : config;
  };
  for (;;) {
    const now = current();
    const changed = [...settings.values()].map((s) => `${s.path.split('.').slice(-2).join('.')} = ${show(s.value)}`).join(', ');
    const items: Item[] = [
      { label: `$(play) ${startLabel}`, description: changed || 'no changes', action: 'start', alwaysShow: true },
      { label: '', kind: vscode.QuickPickItemKind.Separator, action: 'field' },
      ...usualFields(now).map((field): Item => ({
        label: field.label,
        // Changed also when a setting replaced what holds it (a new cost object, an optimizer of the new cost).
        description: `${show(valueAt(now, field.path))}${[...settings.keys()].some((p) => field.path === p || field.path.startsWith(`${p}.`)) ? '  (changed)' : ''}`,
        detail: `${field.path} · ${field.detail}`,
        action: 'field',
        field,
      })),
      { label: '$(edit) Other field…', description: 'any field by its path, e.g. logging.samplesEvery', action: 'other' },
    ];
    const picked = await vscode.window.showQuickPick(items, {
      title,
      placeHolder: 'Pick a field to change, or start',
      matchOnDetail: true,
      ignoreFocusOut: true,
    });
    if (!picked) return undefined;
    if (picked.action === 'start') {
      const problem = options.check?.(now);
      if (!problem) return [...settings.values()];
      await vscode.window.showWarningMessage(`GAN Workbench: ${problem}`, { modal: true });
      continue;
    }
    let path = picked.field?.path;
    if (picked.action === 'other') {
      path = await vscode.window.showInputBox({ title, prompt: 'Field path', placeHolder: 'e.g. logging.samplesEvery', ignoreFocusOut: true });
      if (!path) continue;
    }
    if (!path) continue;
    const fieldPath = path;
    const choices = picked.field?.choices;
    if (choices) {
      const currentValue = show(valueAt(now, fieldPath));
      const choice = await vscode.window.showQuickPick(
        choices.map((c) => ({ label: c.value, description: c.value === currentValue ? '(current)' : undefined, detail: c.description })),
        { title, placeHolder: `New value of ${fieldPath}`, matchOnDetail: true, ignoreFocusOut: true },
      );
      if (!choice) continue;
      if (fieldPath === COST_PATH) {
        // The cost brings its parameters and, where the config left them to it, its optimizers and k.
        const next = settingsWithCost(config, [...settings.values()], choice.label as CostType);
        settings.clear();
        for (const setting of next) settings.set(setting.path, setting);
      } else {
        settings.set(fieldPath, { path: fieldPath, value: choice.label });
      }
      continue;
    }
    const value = await vscode.window.showInputBox({
      title,
      prompt: `New value of ${fieldPath}`,
      value: show(valueAt(now, fieldPath)),
      ignoreFocusOut: true,
      validateInput: (text) => {
        const setting = parseSetting(`${fieldPath}=${text}`);
        if ('error' in setting) return setting.error;
        const result = applySettings(now, [setting]);
        return result.ok ? undefined : result.problems.map(formatProblem).join('; ');
      },
    });
    if (value === undefined) continue;
    const setting = parseSetting(`${fieldPath}=${value}`);
    if ('error' in setting) continue;
    if (fieldPath === COST_PATH && typeof setting.value === 'string') {
      const next = settingsWithCost(config, [...settings.values()], setting.value as CostType);
      settings.clear();
      for (const s of next) settings.set(s.path, s);
    } else {
      settings.set(fieldPath, setting);
    }
  }
}
