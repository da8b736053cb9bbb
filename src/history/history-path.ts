import { resolveUserPath } from '../common/user-path';

export const MEMORY_PATH = ':memory:';

/** `History.path` as a file name: `~/…` is the user's home, a relative path is from the working directory. */
export function resolveHistoryPath(path: string, cwd = process.cwd()): string {
  return path === MEMORY_PATH ? path : resolveUserPath(path, cwd);
}
