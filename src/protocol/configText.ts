/**
 * Parsing `*.gan.json` text (JSON with comments) into a validated config, with every problem
 * located: a field path and, for the editor, the offset range of the offending text.
 */
import { findNodeAtLocation, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { formatProblem, validateConfig, type ConfigProblem, type GanConfig } from './config';

export interface LocatedProblem extends ConfigProblem {
  /** Offset and length in the text of the node the problem is about (the whole file if unknown). */
  offset: number;
  length: number;
}

export type ConfigTextResult = { ok: true; config: GanConfig } | { ok: false; problems: LocatedProblem[] };

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Builds a plain value from the parse tree; objects have no prototype tricks (keys are data). */
function toValue(node: Node, problems: LocatedProblem[], path: (string | number)[]): unknown {
  switch (node.type) {
    case 'object': {
      const result: Record<string, unknown> = {};
      for (const property of node.children ?? []) {
        const [keyNode, valueNode] = property.children ?? [];
        if (!keyNode || !valueNode) continue;
        const key = String(keyNode.value);
        if (FORBIDDEN_KEYS.has(key)) {
          problems.push({ path: [...path, key], message: 'this key is not allowed', offset: keyNode.offset, length: keyNode.length });
          continue;
        }
        Object.defineProperty(result, key, { value: toValue(valueNode, problems, [...path, key]), enumerable: true, writable: true, configurable: true });
      }
      return result;
    }
    case 'array':
      return (node.children ?? []).map((child, i) => toValue(child, problems, [...path, i]));
    default:
      return node.value;
  }
}

/** Where a field path points in the text: the value node, or its parent object when missing. */
export function locate(root: Node | undefined, path: (string | number)[], textLength: number): { offset: number; length: number } {
  if (!root) return { offset: 0, length: textLength };
  for (let depth = path.length; depth >= 0; depth--) {
    const node = findNodeAtLocation(root, path.slice(0, depth));
    if (node) {
      // An unknown key is reported on the key itself rather than on its whole value.
      if (depth === path.length && node.parent?.type === 'property' && node.parent.children?.[0]) {
        const key = node.parent.children[0];
        if (typeof path[path.length - 1] === 'string' && key.value === path[path.length - 1]) {
          return node.type === 'object' || node.type === 'array' ? { offset: key.offset, length: key.length } : { offset: node.offset, length: node.length };
        }
      }
      return { offset: node.offset, length: depth === path.length ? node.length : 1 };
    }
  }
  return { offset: 0, length: textLength };
}

export function parseConfigText(text: string): ConfigTextResult {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0 || !root) {
    const problems = errors.map((e) => ({
      path: [],
      message: `invalid JSON: ${printParseErrorCode(e.error)}`,
      offset: e.offset,
      length: Math.max(1, e.length),
    }));
    return { ok: false, problems: problems.length ? problems : [{ path: [], message: 'the file is empty', offset: 0, length: 0 }] };
  }
  const problems: LocatedProblem[] = [];
  const value = toValue(root, problems, []);
  if (problems.length > 0) return { ok: false, problems };
  const result = validateConfig(value);
  if (result.ok) return result;
  return { ok: false, problems: result.problems.map((p) => ({ ...p, ...locate(root, p.path, text.length) })) };
}

/** "line:column" of an offset, 1-based, for terminal messages. */
export function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

export function formatLocatedProblems(file: string, text: string, problems: LocatedProblem[]): string {
  return problems.map((p) => `${file}:${lineColumn(text, p.offset)}: ${formatProblem(p)}`).join('\n');
}
