import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const MEMORY_PATH = ':memory:';

/** `History.path` as a file name: `~/…` is the user's home, a relative path is from the working directory. */
export function resolveHistoryPath(path: string, cwd = process.cwd()): string {
  if (path === MEMORY_PATH) {
    return path;
  }
  if (path === '~' || path.startsWith('~/')) {
    return join(homedir(), path.slice(1));
  }
  return resolve(cwd, path);
}
