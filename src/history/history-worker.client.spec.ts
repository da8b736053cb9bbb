import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HistoryDb } from './history-db';
import { HistoryWorkerClient, HistoryWorkerError } from './history-worker.client';
import { historyRow, tempDir } from './history.test-helpers';
import type { WindowSummary } from './history.types';

/** A real worker thread (loaded through tsx from source) against real files. */
describe('HistoryWorkerClient', () => {
  let dir: string;
  const clients: HistoryWorkerClient[] = [];
  const client = (path: string, timeoutMs?: number): HistoryWorkerClient => {
    const c = new HistoryWorkerClient({ path, busyTimeoutMs: 50 }, timeoutMs);
    clients.push(c);
    return c;
  };
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('inserts, prunes and queries in the worker thread', async () => {
    const path = join(dir, 'h.db');
    const c = client(path);
    const now = Date.now();
    await c.call({ op: 'insert', rows: [historyRow({ ts: now - 1000, ttfbMs: 7 }), historyRow({ ts: 1 })] });
    expect(await c.call<number>({ op: 'prune', beforeTs: now - 60_000 })).toBe(1);
    expect(await c.call<WindowSummary>({ op: 'window', from: now - 60_000, to: now })).toEqual({
      total: 1,
      failed: 0,
      p50: 7,
      p95: 7,
      p99: 7,
    });
    const check = HistoryDb.open(path, { readonly: true });
    expect(check.count()).toBe(1);
    check.close();
  });

  it('an unwritable path rejects with the cause; once the path is usable, writing resumes by itself', async () => {
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'not a folder');
    const c = client(join(blocker, 'h.db'));
    await expect(c.call({ op: 'insert', rows: [historyRow()] })).rejects.toMatchObject({
      name: 'HistoryWorkerError',
      code: expect.stringMatching(/^E(NOTDIR|EXIST)$/),
    });
    rmSync(blocker);
    mkdirSync(blocker);
    await c.call({ op: 'insert', rows: [historyRow()] });
    const check = HistoryDb.open(join(blocker, 'h.db'), { readonly: true });
    expect(check.count()).toBe(1);
    check.close();
  });

  it('a closed connection and a deleted file are reopened on the next write', async () => {
    const path = join(dir, 'h.db');
    const c = client(path);
    await c.call({ op: 'insert', rows: [historyRow()] });
    await c.call({ op: 'close' });
    await c.call({ op: 'insert', rows: [historyRow()] });
    rmSync(path);
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
    await c.call({ op: 'insert', rows: [historyRow()] });
    const check = HistoryDb.open(path, { readonly: true });
    expect(check.count()).toBe(1); // a new file: the row did not go into the deleted one
    check.close();
  });

  it('a thread that does not answer in time is replaced; the next call gets a fresh one', async () => {
    const c = client(join(dir, 'h.db'), 1); // 1 ms: even starting the thread takes longer
    await expect(c.call({ op: 'open' })).rejects.toEqual(expect.any(HistoryWorkerError));
    expect(c.running).toBe(false);
    await expect(c.call({ op: 'open' }, 30_000)).resolves.toBeNull();
    expect(c.running).toBe(true);
  });
});
