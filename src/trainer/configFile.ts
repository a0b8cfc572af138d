/** Reads and validates a `*.gan.json` file for the trainer; nothing is written on failure. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { GanConfig } from '../protocol/config';
import { formatLocatedProblems, parseConfigText } from '../protocol/configText';

/** A config that cannot be used; its message lists every problem with file:line:column and field path. */
export class ConfigError extends Error {}

export async function loadConfigFile(file: string): Promise<GanConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`${file}: ${code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? String(error)})`}`);
  }
  const result = parseConfigText(text);
  if (!result.ok) throw new ConfigError(formatLocatedProblems(path.relative(process.cwd(), file) || file, text, result.problems));
  return result.config;
}

/**
 * Makes file paths in the config absolute, so the run's config.json stands on its own: resuming,
 * `sample` and `export` load the data again from the run directory (a conditional run needs it for
 * its classes), where a path relative to the config file would not be found.
 */
export function resolveConfigPaths(config: GanConfig, configDir: string): GanConfig {
  const data = config.data;
  const resolve = (file: string) => path.resolve(configDir, file);
  switch (data.type) {
    case 'csv':
    case 'images':
      return { ...config, data: { ...data, path: resolve(data.path) } };
    case 'idx':
      return { ...config, data: { ...data, images: resolve(data.images), ...(data.labels === undefined ? {} : { labels: resolve(data.labels) }) } };
    default:
      return config;
  }
}
