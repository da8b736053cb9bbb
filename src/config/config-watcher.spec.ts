import { existsSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigWatcher } from './config-watcher';

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) {
      throw new Error('condition not met in time');
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ConfigWatcher', () => {
  let dir: string;
  let file: string;
  let watcher: ConfigWatcher | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sy-watch-'));
    file = join(dir, 'config.json');
    writeFileSync(file, '{}');
  });

  afterEach(() => {
    watcher?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports a burst of writes and an editor-style rename once each burst', async () => {
    const seen: boolean[] = [];
    watcher = new ConfigWatcher({
      files: [file],
      debounceMs: 100,
      onChange: () => seen.push(existsSync(file)),
      onError: (err) => {
        throw err;
      },
    });
    watcher.start();
    for (let i = 0; i < 5; i++) {
      writeFileSync(file, JSON.stringify({ i }));
    }
    await until(() => seen.length === 1);
    writeFileSync(join(dir, 'config.json.tmp'), '{"saved":true}');
    renameSync(join(dir, 'config.json.tmp'), file);
    await until(() => seen.length === 2);
    expect(seen).toEqual([true, true]);
  });

  it('ignores other files in the folder', async () => {
    let calls = 0;
    watcher = new ConfigWatcher({
      files: [file],
      debounceMs: 10,
      onChange: () => calls++,
      onError: () => undefined,
    });
    watcher.start();
    writeFileSync(join(dir, 'other.json'), '{}');
    writeFileSync(file, '{"x":1}');
    await until(() => calls === 1);
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    // The watcher has nothing pending: a second write is what triggers the next report.
    writeFileSync(file, '{"x":2}');
    await until(() => calls === 2);
    expect(calls).toBe(2);
  });

  it('waits while a required file is briefly missing, then reports once it is back', async () => {
    const seen: boolean[] = [];
    watcher = new ConfigWatcher({
      files: [file],
      required: [file],
      debounceMs: 10,
      missingGraceMs: 60_000,
      onChange: () => seen.push(existsSync(file)),
      onError: () => undefined,
    });
    watcher.start();
    unlinkSync(file);
    // Let the deletion's event fire and the watcher find the file missing before it comes back.
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual([]);
    writeFileSync(file, '{"back":true}');
    await until(() => seen.length > 0);
    expect(seen.every(Boolean)).toBe(true);
  });

  it('reports anyway after the grace period, so the reload can say what is missing', async () => {
    let calls = 0;
    watcher = new ConfigWatcher({
      files: [file],
      required: [file],
      debounceMs: 10,
      missingGraceMs: 50,
      onChange: () => calls++,
      onError: () => undefined,
    });
    watcher.start();
    unlinkSync(file);
    await until(() => calls === 1);
    expect(existsSync(file)).toBe(false);
  });

  it('stops reporting once closed', async () => {
    let calls = 0;
    watcher = new ConfigWatcher({
      files: [file],
      debounceMs: 10,
      onChange: () => calls++,
      onError: () => undefined,
    });
    watcher.start();
    expect(watcher.watching).toBe(1);
    watcher.close();
    writeFileSync(file, '{"after":"close"}');
    await new Promise((r) => setTimeout(r, 100));
    expect(calls).toBe(0);
  });
});
