import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * A file path from the configuration as the process uses it: `~` and `~/…` are the user's home (as in a
 * shell; Node does not expand them), a relative path is from the working directory.
 */
export function resolveUserPath(path: string, cwd = process.cwd()): string {
  if (path === '~' || path.startsWith('~/')) {
    return join(homedir(), path.slice(1));
  }
  return resolve(cwd, path);
}
