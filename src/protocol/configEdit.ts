/**
 * Edits a `*.gan.json` text field by field with jsonc-parser, so comments, key order and layout
 * survive (re-serialising the object would drop every comment). A value written on one line stays
 * on one line: jsonc-parser's formatter would spread the whole object over several.
 */
import { findNodeAtLocation, modify, parseTree, applyEdits, type Edit, type Node } from 'jsonc-parser';

/** `{ "type": "grid", "size": 5 }`: JSON on one line, spaced like hand-written JSON. */
export function inlineJson(value: unknown): string {
  if (Array.isArray(value)) return value.length ? `[${value.map(inlineJson).join(', ')}]` : '[]';
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return entries.length ? `{ ${entries.map(([k, v]) => `${JSON.stringify(k)}: ${inlineJson(v)}`).join(', ')} }` : '{}';
  }
  return JSON.stringify(value);
}

const isOneLine = (text: string, node: Node) => !text.slice(node.offset, node.offset + node.length).includes('\n');

export function configTextEdits(text: string, path: (string | number)[], value: unknown): Edit[] {
  const indent = /\n([ \t]+)"/.exec(text)?.[1] ?? '  ';
  const formatted = () =>
    modify(text, path, value, {
      formattingOptions: {
        insertSpaces: !indent.includes('\t'),
        tabSize: indent.includes('\t') ? 1 : indent.length,
        eol: text.includes('\r\n') ? '\r\n' : '\n',
      },
    });
  const root = parseTree(text);
  if (!root) return formatted();
  const existing = findNodeAtLocation(root, path);
  // A new value where the old one stands: nothing around it moves.
  if (value !== undefined && existing && (isOneLine(text, existing) || (typeof value !== 'object' && existing.type !== 'object'))) {
    return [{ offset: existing.offset, length: existing.length, content: inlineJson(value) }];
  }
  const parent = path.length > 1 ? findNodeAtLocation(root, path.slice(0, -1)) : root;
  if (parent?.type === 'object' && isOneLine(text, parent)) {
    // Inside a one-line object: insert or remove without the formatter, then space it by hand.
    return modify(text, path, value, {}).map((edit) =>
      value === undefined
        ? edit
        : {
            ...edit,
            content: edit.content.replace(
              /^(,?)("(?:[^"\\]|\\.)*"):\s*[\s\S]*$/,
              (_m, comma: string, key: string) => `${comma ? ', ' : ' '}${key}: ${inlineJson(value)}${comma ? '' : ' '}`,
            ),
          },
    );
  }
  return formatted();
}

export function editConfigText(text: string, path: (string | number)[], value: unknown): string {
  return applyEdits(text, configTextEdits(text, path, value));
}
