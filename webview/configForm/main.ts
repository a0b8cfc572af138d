/**
 * The "Edit experiment" form (browser side), generated from the config's JSON Schema: objects
 * become sections, `oneOf` variants a select of their `type`, enums selects, numbers, strings and
 * booleans inputs. Each change is sent as one field path and value; the file (edited by the host)
 * is the truth, and the form redraws from it after every change, including edits typed in the
 * text editor. Everything from the file is put in the page as text.
 */
import './configForm.css';
import type { ConfigProblem } from '../../src/protocol/config';
import type { DerivedDefault, FieldPath, FormToHostMessage, HostToFormMessage } from '../../src/protocol/configFormMessages';

interface VsCodeApi {
  postMessage(message: FormToHostMessage): void;
}
declare function acquireVsCodeApi(): VsCodeApi;
const vscode = acquireVsCodeApi();

interface Schema {
  type?: string;
  const?: unknown;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  items?: Schema;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

const state: { schema: Schema | null; values: unknown; problems: ConfigProblem[]; derived: DerivedDefault[]; fileName: string } = {
  schema: null,
  values: null,
  problems: [],
  derived: [],
  fileName: '',
};

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const root = document.getElementById('root') ?? document.body;
const header = element('header', 'form-header');
const title = element('h1', undefined, 'Experiment');
const summary = element('div', 'summary');
header.append(title, summary);
const form = element('form', 'config-form');
form.addEventListener('submit', (event) => event.preventDefault());
root.append(header, form);

function valueAt(values: unknown, path: FieldPath): unknown {
  let value = values;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

const pathKey = (path: FieldPath) => path.join('.');
const labelOf = (key: string) => key.replace(/([A-Z])/g, ' $1').replace(/^./, (c) => c.toUpperCase());

/** The default of a field that follows another field (the cost's optimizers, k, generator cost), from the host. */
function derivedAt(path: FieldPath): DerivedDefault | undefined {
  const key = pathKey(path);
  return state.derived.find((d) => pathKey(d.path) === key);
}

const formatValue = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

/**
 * Inside an optional object that is absent but has a derived default (an optimizer left to the
 * cost): the placeholders show that default's fields, and editing one writes the whole object
 * (the default with the edit), since a partial object would take its own type's defaults instead.
 */
interface Inherited {
  placeholder(key: string): string | undefined;
  edit(key: string, value: unknown): void;
}

function problemsAt(path: FieldPath): string[] {
  const key = pathKey(path);
  return state.problems.filter((p) => pathKey(p.path) === key).map((p) => p.message);
}

/** Set while the form is rebuilt: removing a focused input fires its `change`, which is no edit. */
let rendering = false;

function send(path: FieldPath, value: unknown): void {
  if (rendering) return;
  vscode.postMessage({ type: 'form/setValue', path, value });
}

function variants(schema: Schema): Schema[] | null {
  const options = schema.oneOf ?? schema.anyOf;
  return options && options.every((o) => o.properties?.type?.const !== undefined) ? options : null;
}

function describe(container: HTMLElement, schema: Schema): void {
  if (schema.description) container.append(element('div', 'description', schema.description));
}

function fieldRow(path: FieldPath, schema: Schema, required: boolean, inherited?: Inherited): HTMLElement {
  const key = String(path[path.length - 1]);
  const derived = derivedAt(path);
  const edit = (value: unknown) => (inherited ? inherited.edit(key, value) : send(path, value));
  /** What an empty box says applies. */
  const placeholder =
    inherited?.placeholder(key) ??
    (derived
      ? derived.value !== undefined
        ? `${formatValue(derived.value)} (default for ${derived.source})`
        : `default: depends on ${derived.source}`
      : schema.default !== undefined
        ? `${String(schema.default)} (default)`
        : '');
  const row = element('div', 'field');
  row.dataset.path = pathKey(path);
  const id = `field-${pathKey(path).replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const label = element('label', 'field-label', labelOf(key));
  label.htmlFor = id;
  label.title = pathKey(path);
  const current = valueAt(state.values, path);
  const present = current !== undefined;
  let input: HTMLInputElement | HTMLSelectElement;

  if (schema.enum) {
    const select = element('select');
    for (const option of schema.enum) select.append(new Option(String(option), String(option)));
    if (!present && derived && (!derived.applies || derived.value === undefined)) {
      // Nothing to pick from while the field does not apply, or its default is not known yet.
      const text = derived.applies ? `(default: depends on ${derived.source})` : `(not used with ${derived.source})`;
      select.prepend(new Option(text, ''));
      select.value = '';
      select.disabled = !derived.applies;
    } else {
      select.value = String(present ? current : (derived?.value ?? schema.default ?? schema.enum[0]));
    }
    select.addEventListener('change', () => edit(select.value === '' ? undefined : select.value));
    input = select;
  } else if (schema.type === 'boolean') {
    const box = element('input');
    box.type = 'checkbox';
    box.checked = Boolean(present ? current : schema.default);
    box.addEventListener('change', () => edit(box.checked));
    input = box;
  } else if (schema.type === 'number' || schema.type === 'integer') {
    const box = element('input');
    box.type = 'text';
    box.inputMode = 'decimal';
    box.value = present ? String(current) : '';
    box.placeholder = placeholder;
    box.addEventListener('change', () => {
      const text = box.value.trim();
      if (text === '') {
        edit(undefined);
        return;
      }
      const number = Number(text);
      // Not a number: send the text, so the file (and Problems) say exactly what is wrong.
      edit(Number.isFinite(number) ? number : text);
    });
    input = box;
  } else if (schema.type === 'array') {
    const box = element('input');
    box.type = 'text';
    box.value = Array.isArray(current) ? current.join(', ') : '';
    box.placeholder = 'comma-separated';
    box.addEventListener('change', () => {
      const items = box.value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      edit(items.length ? items : undefined);
    });
    input = box;
  } else {
    const box = element('input');
    box.type = 'text';
    box.value = present ? String(current) : '';
    box.placeholder = placeholder;
    box.addEventListener('change', () => edit(box.value === '' && !required ? undefined : box.value));
    input = box;
  }
  input.id = id;
  input.name = pathKey(path);
  const control = element('div', 'control');
  control.append(input);
  if (present && !required && (schema.default !== undefined || derived?.applies)) {
    const reset = element('button', 'reset', '↺');
    reset.type = 'button';
    reset.title = derived
      ? `Remove the field: the default of ${derived.source}${derived.value !== undefined ? ` (${formatValue(derived.value)})` : ''} applies`
      : `Remove the field: the default (${JSON.stringify(schema.default)}) applies`;
    reset.addEventListener('click', () => send(path, undefined));
    control.append(reset);
  }
  row.append(label, control);
  describe(row, schema);
  for (const message of problemsAt(path)) row.append(element('div', 'problem', message));
  if (problemsAt(path).length) row.classList.add('invalid');
  return row;
}

function section(path: FieldPath, schema: Schema, container: HTMLElement, legend: string | null): void {
  const options = variants(schema);
  if (options) {
    const fieldset = element('fieldset');
    fieldset.dataset.path = pathKey(path);
    if (legend) fieldset.append(element('legend', undefined, legend));
    describe(fieldset, schema);
    const current = valueAt(state.values, path) as { type?: unknown } | undefined;
    const derived = derivedAt(path);
    const derivedValue = derived?.value as Record<string, unknown> | undefined;
    const defaultType = (schema.default as { type?: unknown } | undefined)?.type;
    const chosenType = current?.type ?? derivedValue?.type ?? defaultType ?? options[0].properties?.type?.const;
    const chosen = options.find((o) => o.properties?.type?.const === chosenType) ?? options[0];
    let inherited: Inherited | undefined;
    if (derived) {
      const note = element('div', 'description derived-note');
      const written = derivedValue
        ? Object.entries(derivedValue)
            .map(([k, v]) => (k === 'type' ? String(v) : `${k} ${formatValue(v)}`))
            .join(', ')
        : '';
      note.textContent = current === undefined ? `Absent: the default of ${derived.source}${written ? ` (${written})` : ''}` : '';
      if (current !== undefined) {
        // Written in the file: one click gives it back to the cost.
        const reset = element('button', 'reset', '↺');
        reset.type = 'button';
        reset.title = `Remove ${pathKey(path)}: the default of ${derived.source}${written ? ` (${written})` : ''} applies`;
        reset.addEventListener('click', () => send(path, undefined));
        note.append(document.createTextNode(`Written here; the default of ${derived.source} is ${written || 'not known yet'} `), reset);
      }
      fieldset.append(note);
      if (current === undefined) {
        const base = derivedValue && derivedValue.type === chosenType ? derivedValue : { type: chosenType };
        inherited = {
          placeholder: (key) =>
            derivedValue
              ? base[key] !== undefined
                ? `${formatValue(base[key])} (default for ${derived.source})`
                : undefined
              : `default: depends on ${derived.source}`,
          edit: (key, value) => {
            if (value !== undefined) send(path, { ...base, [key]: value });
          },
        };
      }
    }
    const row = element('div', 'field');
    row.dataset.path = pathKey([...path, 'type']);
    const select = element('select');
    select.id = `field-${pathKey([...path, 'type']).replace(/[^A-Za-z0-9_-]/g, '_')}`;
    for (const option of options) {
      const value = String(option.properties?.type?.const);
      select.append(new Option(value, value));
    }
    select.value = String(chosen.properties?.type?.const);
    // A new variant replaces the whole object: the old variant's fields would not be valid in it.
    select.addEventListener('change', () => send(path, { type: select.value }));
    const label = element('label', 'field-label', 'Type');
    label.htmlFor = select.id;
    const control = element('div', 'control');
    control.append(select);
    row.append(label, control);
    describe(row, chosen.properties?.type ?? {});
    fieldset.append(row);
    objectFields(path, chosen, fieldset, ['type'], inherited);
    container.append(fieldset);
    return;
  }
  if (schema.type === 'object' && schema.properties) {
    const fieldset = element('fieldset');
    fieldset.dataset.path = pathKey(path);
    if (legend) fieldset.append(element('legend', undefined, legend));
    describe(fieldset, schema);
    objectFields(path, schema, fieldset, []);
    container.append(fieldset);
    return;
  }
  container.append(fieldRow(path, schema, false));
}

function objectFields(path: FieldPath, schema: Schema, container: HTMLElement, skip: string[], inherited?: Inherited): void {
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    if (skip.includes(key) || key === '$schema') continue;
    const childPath = [...path, key];
    const isObject = (child.type === 'object' && child.properties) || variants(child);
    if (isObject) section(childPath, child, container, labelOf(key));
    else container.append(fieldRow(childPath, child, schema.required?.includes(key) ?? false, inherited));
  }
}

/** Text being typed and not yet committed (no `change` yet), by input id: a redraw must not lose it. */
const typing = new Map<string, string>();
form.addEventListener('input', (event) => {
  const target = event.target;
  if (target instanceof HTMLInputElement && target.type === 'text') typing.set(target.id, target.value);
});
form.addEventListener(
  'change',
  (event) => {
    if (!rendering && event.target instanceof HTMLElement) typing.delete(event.target.id);
  },
  true,
);

function render(): void {
  if (!state.schema) return;
  // Keep the focused field focused across the redraw that follows each change.
  const active = document.activeElement;
  const focused = active instanceof HTMLElement ? active.id : '';
  const selection = active instanceof HTMLInputElement && active.type === 'text' ? [active.selectionStart, active.selectionEnd] : null;
  title.textContent = state.fileName;
  const count = state.problems.length;
  summary.textContent =
    state.values === null ? 'The file is not valid JSON: fix it in the editor.' : count ? `${count} problem${count === 1 ? '' : 's'}` : 'Valid experiment';
  summary.className = `summary ${count || state.values === null ? 'has-problems' : 'ok'}`;
  rendering = true;
  try {
    form.replaceChildren();
    if (state.values !== null) objectFields([], state.schema, form, []);
  } finally {
    rendering = false;
  }
  if (state.values === null) return;
  for (const [id, value] of typing) {
    const input = document.getElementById(id);
    if (input instanceof HTMLInputElement) input.value = value;
  }
  const again = focused ? document.getElementById(focused) : null;
  again?.focus();
  if (again instanceof HTMLInputElement && selection) again.setSelectionRange(selection[0], selection[1]);
}

window.addEventListener('message', (event: MessageEvent<HostToFormMessage>) => {
  const message = event.data;
  if (!message || typeof message !== 'object') return;
  if (message.type === 'form/didLoad') {
    state.schema = message.schema as Schema;
    state.fileName = message.fileName;
    state.values = message.values;
    state.problems = message.problems;
    state.derived = Array.isArray(message.derived) ? message.derived : [];
    render();
  } else if (message.type === 'form/didChangeDocument') {
    state.values = message.values;
    state.problems = message.problems;
    state.derived = Array.isArray(message.derived) ? message.derived : [];
    render();
  }
});

vscode.postMessage({ type: 'form/ready' });
