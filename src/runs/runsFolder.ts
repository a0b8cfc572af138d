/**
 * Where runs are written. A relative runs folder must stay inside its workspace folder, also
 * after symbolic links are followed: a workspace someone else wrote cannot point our writes at
 * `../../somewhere` through its settings. An absolute folder is the user's explicit choice (a
 * shared runs folder), and in Restricted Mode VS Code ignores the workspace's value anyway.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';

export type RunsFolderResult = { ok: true; path: string } | { ok: false; reason: string };

function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** realpath of the deepest part of `target` that exists, with the rest appended. */
function realpathOfExisting(target: string): string {
  let existing = target;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(realpathSync(existing), ...rest);
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) return target;
      rest.unshift(path.basename(existing));
      existing = parent;
    }
  }
}

export function resolveRunsFolder(workspaceDir: string, configured: string): RunsFolderResult {
  const value = configured.trim() || 'runs';
  if (value.includes('\0')) return { ok: false, reason: 'the runs folder setting contains a NUL character' };
  if (path.isAbsolute(value)) return { ok: true, path: path.normalize(value) };
  const resolved = path.resolve(workspaceDir, value);
  if (!isInside(workspaceDir, resolved)) {
    return { ok: false, reason: `the runs folder "${value}" is outside the workspace folder ${workspaceDir}; use a folder inside it, or an absolute path in your user settings` };
  }
  const real = realpathOfExisting(resolved);
  const realWorkspace = realpathOfExisting(workspaceDir);
  if (!isInside(realWorkspace, real)) {
    return { ok: false, reason: `the runs folder "${value}" leads outside the workspace folder through a symbolic link (to ${real})` };
  }
  return { ok: true, path: resolved };
}
