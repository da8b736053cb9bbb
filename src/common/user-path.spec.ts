import { homedir } from 'node:os';
import { join } from 'node:path';
import { resolveUserPath } from './user-path';

describe('resolveUserPath', () => {
  it.each([
    ['~/.switchyard/cache.json', join(homedir(), '.switchyard', 'cache.json')],
    ['~', homedir()],
    ['data/history.db', '/srv/app/data/history.db'],
    ['/var/lib/x.json', '/var/lib/x.json'],
    ['~user/x', '/srv/app/~user/x'],
  ])('%s → %s', (path, expected) => {
    expect(resolveUserPath(path, '/srv/app')).toBe(expected);
  });
});
