import Anthropic from '@anthropic-ai/sdk';
import { randomUUID } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '../support/gateway';
import {
  API_KEY,
  getJson,
  historyStats,
  rawConnection,
  readRows,
  rowOf,
  startHistoryGateway,
  tempDir,
  type HistoryGateway,
} from './support';

/** Sends `n` distinct requests one after the other; every one must answer 200. Returns each latency. */
async function traffic(client: Anthropic, n: number): Promise<{ ids: string[]; ms: number[] }> {
  const ids: string[] = [];
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const { data, response } = await client.messages
      .create({
        model: 'claude-sonnet-4',
        max_tokens: 32,
        messages: [{ role: 'user', content: `disk ${randomUUID()}` }],
      })
      .withResponse();
    ms.push(performance.now() - started);
    expect(response.status).toBe(200);
    expect(data.content[0]).toMatchObject({ type: 'text', text: 'Hello from fake provider' });
    ids.push(response.headers.get('x-request-id') as string);
  }
  return { ids, ms };
}

const max = (xs: number[]): number => Math.max(...xs);

/**
 * A failing disk must never slow or break a request: the rows wait in a bounded queue (drops counted), the
 * failure shows in /api/history/stats and /health/ready (still 200), and writing resumes by itself.
 */
describe('request history on a failing disk', () => {
  let dir: string;
  let gw: HistoryGateway | undefined;
  let client: Anthropic;
  const start = async (history: Record<string, unknown>): Promise<void> => {
    gw = await startHistoryGateway(history);
    client = new Anthropic({ baseURL: gw.url, apiKey: API_KEY, maxRetries: 0 });
  };
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('unwritable path: answers stay 200 and fast, the queue bound drops and counts, readiness reports it, writing resumes when fixed', async () => {
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'a file where the database folder should be');
    const path = join(blocker, 'history.db');
    await start({ path, batchSize: 5, maxQueue: 10 });
    await eventually(async () => (await historyStats(gw!)).state === 'failing');

    const { ms } = await traffic(client, 40);
    // Not a speed test: a request that waited on the failing disk would take the history worker's 10 s call
    // timeout; 5 s leaves room for a loaded CI box (1 s flaked beside the Docker dry run's compile).
    expect(max(ms)).toBeLessThan(5000);

    await eventually(
      async () => (await historyStats(gw!)).accepted + (await historyStats(gw!)).dropped >= 40,
    );
    const failing = await historyStats(gw!);
    expect(failing).toMatchObject({
      state: 'failing',
      written: 0,
      lastError: { code: expect.stringMatching(/^E[A-Z]+$/) },
    });
    expect(failing.writeErrors).toBeGreaterThan(0);
    expect(failing.queued).toBeLessThanOrEqual(10);
    expect(failing.dropped).toBeGreaterThanOrEqual(40 - 10 - 5); // at most a full queue plus one batch in flight kept

    const ready = await getJson(gw!, '/health/ready', null);
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ok');
    expect(ready.body.details.history).toMatchObject({
      status: 'up',
      state: 'failing',
      error: expect.any(String),
    });

    rmSync(blocker); // the folder can be created now
    await eventually(async () => {
      const s = await historyStats(gw!);
      return s.state === 'ok' && s.queued === 0;
    });
    const resumed = await historyStats(gw!);
    expect(resumed.written + resumed.dropped).toBe(40);
    expect(resumed.written).toBeGreaterThanOrEqual(10); // what the queue held was kept and written
    expect(readRows(path)).toHaveLength(resumed.written);
    const after = await traffic(client, 1);
    await rowOf(path, after.ids[0]);
  });

  it('a database locked by another process (SQLITE_BUSY): answers unaffected, batches retried, nothing lost', async () => {
    const path = join(dir, 'history.db');
    // Each write waits 1.5 s for the lock: were SQLite on the event loop, answers would stall that long.
    await start({ path, busyTimeoutMs: 1500 });
    const first = await traffic(client, 1);
    await rowOf(path, first.ids[0]);

    const other = rawConnection(path);
    other.exec('BEGIN EXCLUSIVE');
    try {
      const { ms } = await traffic(client, 10);
      await eventually(async () => (await historyStats(gw!)).lastError?.code === 'SQLITE_BUSY');
      ms.push(...(await traffic(client, 5)).ms); // while the worker thread is blocked on the lock
      expect(max(ms)).toBeLessThan(1000);
      expect((await historyStats(gw!)).state).toBe('failing');
      expect(readRows(path)).toHaveLength(1);
    } finally {
      other.exec('COMMIT');
      other.close();
    }
    await eventually(async () => readRows(path).length === 16);
    expect(await historyStats(gw!)).toMatchObject({ state: 'ok', dropped: 0, written: 16, queued: 0 });
  });

  it('the database folder removed while running: the file is recreated and rows keep coming', async () => {
    const folder = join(dir, 'data');
    const path = join(folder, 'history.db');
    await start({ path });
    const before = await traffic(client, 2);
    await rowOf(path, before.ids[1]);

    rmSync(folder, { recursive: true, force: true });
    const after = await traffic(client, 3);
    await eventually(() => existsSync(path));
    await rowOf(path, after.ids[2]);
    expect(readRows(path).map((r) => r.requestId)).toEqual(after.ids); // a fresh file, nothing went into the deleted one
    expect((await historyStats(gw!)).state).toBe('ok');
  });
});
