import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSnapshot } from './cache-snapshot';
import { CacheSnapshotter } from './cache-snapshotter';
import { MemoryLruStore } from './memory-keyv.store';
import { MemoryTargetIndex } from './target-index';

// The home folder of this test, never the real one.
jest.mock('node:os', () => ({
  ...jest.requireActual<typeof import('node:os')>('node:os'),
  homedir: jest.fn(),
}));

describe('CacheSnapshotter', () => {
  const startDir = process.cwd();
  let home: string;
  let cwd: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'sy-snap-home-'));
    cwd = mkdtempSync(join(tmpdir(), 'sy-snap-cwd-'));
    jest.mocked(homedir).mockReturnValue(home);
    // A path left unexpanded would land in a literal ./~/ here, not in the repository.
    process.chdir(cwd);
  });
  afterEach(() => {
    process.chdir(startDir);
    rmSync(home, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  });

  it('expands ~/ in Cache.snapshotPath to the home folder, as History.path does, both ways', async () => {
    const memory = new MemoryLruStore(10_000);
    const index = new MemoryTargetIndex();
    await memory.set('ccr:cache:v1:a', { value: Buffer.from('a') }, 60_000);
    index.add('ccr:cache:v1:a', 'fake,m');
    const file = join(home, '.switchyard', 'cache.snapshot.json');

    const saved = await new CacheSnapshotter(
      '~/.switchyard/cache.snapshot.json',
      'ccr:',
      memory,
      index,
    ).save();
    expect(saved).toEqual({ path: file, entries: 1 });
    expect((await readSnapshot(file))?.entries).toHaveLength(1);
    expect(existsSync(join(cwd, '~'))).toBe(false);

    const restored = new MemoryLruStore(10_000);
    const loaded = await new CacheSnapshotter(
      '~/.switchyard/cache.snapshot.json',
      'ccr:',
      restored,
      new MemoryTargetIndex(),
    ).load();
    expect(loaded).toMatchObject({ path: file, loaded: 1 });
  });

  it('reads a relative path from the working directory and does nothing without a path', async () => {
    const memory = new MemoryLruStore(10_000);
    const saved = await new CacheSnapshotter('snap.json', 'ccr:', memory, new MemoryTargetIndex()).save();
    expect(saved).toEqual({ path: join(cwd, 'snap.json'), entries: 0 });
    expect(await new CacheSnapshotter(null, 'ccr:', memory, new MemoryTargetIndex()).save()).toBeUndefined();
  });
});
