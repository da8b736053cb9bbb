import Database from 'better-sqlite3';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HistoryDb } from './history-db';
import { historyRow, tempDir } from './history.test-helpers';

const DAY = 86_400_000;

describe('HistoryDb', () => {
  let dir: string;
  let db: HistoryDb;
  beforeEach(() => {
    dir = tempDir();
    db = HistoryDb.open(join(dir, 'nested', 'history.db'));
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the folder and a WAL database, and stores every field of a row as it was', () => {
    const row = historyRow({
      ts: 1_700_000_000_123,
      stream: false,
      cache: 'HIT',
      dedup: null,
      queueClass: null,
      queueWaitMs: null,
      ttfbMs: 12.5,
      upstreamMs: null,
      cacheReadTokens: 7,
      cacheCreationTokens: 3,
      errorType: 'overloaded_error',
      errorSource: 'upstream',
      status: 529,
    });
    db.insert([row]);
    expect([...db.iterate(0, Date.now())]).toEqual([row]);
    const raw = new Database(join(dir, 'nested', 'history.db'), { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('writes a batch in one transaction: a bad row leaves none of the batch behind', () => {
    const bad = historyRow({ requestId: null as unknown as string });
    expect(() => db.insert([historyRow(), historyRow(), bad])).toThrow(/NOT NULL/);
    expect(db.count()).toBe(0);
    db.insert([historyRow(), historyRow()]);
    expect(db.count()).toBe(2);
  });

  it('iterates only [from, until), oldest first', () => {
    db.insert([
      historyRow({ ts: 30 }),
      historyRow({ ts: 10 }),
      historyRow({ ts: 20 }),
      historyRow({ ts: 40 }),
    ]);
    expect([...db.iterate(10, 40)].map((r) => r.ts)).toEqual([10, 20, 30]);
  });

  it('prunes rows older than the cut-off, in chunks, and keeps the rest', () => {
    const now = 100 * DAY;
    const rows = Array.from({ length: 25 }, (_, i) => historyRow({ ts: now - i * DAY }));
    db.insert(rows);
    expect(db.prune(now - 10 * DAY - 1, 4)).toBe(14); // ages 11..24 days
    expect(db.count()).toBe(11);
    expect(Math.min(...[...db.iterate(0, now + 1)].map((r) => r.ts))).toBe(now - 10 * DAY);
    expect(db.prune(now - 10 * DAY - 1)).toBe(0);
  });

  it('window(): counted as the SLA counts — client errors and aborts left out, gateway/upstream failures, TTFB-else-duration percentiles of answers without error', () => {
    const ok = Array.from({ length: 100 }, (_, i) =>
      historyRow({ ts: 1000 + i, ttfbMs: i + 1, durationMs: 5000 }),
    );
    const noTtfb = historyRow({ ts: 1150, ttfbMs: null, durationMs: 1 }); // non-stream answer: its duration counts
    const failures = [
      historyRow({ ts: 1200, ttfbMs: 0, errorType: 'api_error', errorSource: 'upstream', status: 502 }),
      historyRow({ ts: 1201, ttfbMs: 0, errorType: 'overloaded_error', errorSource: 'gateway', status: 503 }),
    ];
    const notCounted = [
      historyRow({ ts: 1202, errorType: 'invalid_request_error', errorSource: 'client', status: 400 }),
      historyRow({ ts: 1203, errorType: 'client_abort', errorSource: 'client', status: 499 }),
      historyRow({ ts: 1204, errorType: 'client_abort', errorSource: null, status: 200 }),
    ];
    const outside = historyRow({ ts: 5000, errorType: 'api_error', errorSource: 'upstream' });
    db.insert([...ok, noTtfb, ...failures, ...notCounted, outside]);
    // 101 answers without error: latencies 1 (the duration), 1..100 (TTFBs).
    expect(db.window(0, 2000)).toEqual({ total: 103, failed: 2, p50: 50, p95: 95, p99: 99 });
    expect(db.window(6000, 7000)).toEqual({ total: 0, failed: 0, p50: null, p95: null, p99: null });
  });

  it('ttfbSamples(): the newest N upstream-like first bytes per target, oldest first, minus queue wait', () => {
    const t = 'openai,gpt-fake';
    db.insert([
      ...Array.from({ length: 5 }, (_, i) =>
        historyRow({ ts: 100 + i, target: t, ttfbMs: 10 * (i + 1), queueWaitMs: 2 }),
      ),
      historyRow({ ts: 200, target: 'anthropic,claude-fake', ttfbMs: 300, queueWaitMs: null }),
      // Not upstream first bytes: a cache hit, a follower, a failover, a non-stream answer, an error, no TTFB.
      historyRow({ ts: 201, target: t, ttfbMs: 1, cache: 'HIT' }),
      historyRow({ ts: 202, target: t, ttfbMs: 1, dedup: 'follower' }),
      historyRow({ ts: 203, target: t, ttfbMs: 1, failovers: 1, attempts: 2 }),
      historyRow({ ts: 204, target: t, ttfbMs: 1, stream: false }),
      historyRow({ ts: 205, target: t, ttfbMs: 1, errorType: 'api_error', errorSource: 'upstream' }),
      historyRow({ ts: 206, target: t, ttfbMs: null }),
      historyRow({ ts: 50, target: t, ttfbMs: 999 }), // before `since`
    ]);
    expect(db.ttfbSamples(60, 3)).toEqual({ [t]: [28, 38, 48], 'anthropic,claude-fake': [300] });
  });

  it('reports a lock held by another connection as SQLITE_BUSY after busyTimeoutMs', () => {
    const path = join(dir, 'busy.db');
    const mine = HistoryDb.open(path, { busyTimeoutMs: 50 });
    const other = new Database(path);
    other.exec('BEGIN EXCLUSIVE');
    const started = Date.now();
    expect(() => mine.insert([historyRow()])).toThrow(expect.objectContaining({ code: 'SQLITE_BUSY' }));
    expect(Date.now() - started).toBeLessThan(1000);
    other.exec('COMMIT');
    mine.insert([historyRow()]);
    expect(mine.count()).toBe(1);
    other.close();
    mine.close();
  });

  it('simulated full disk: SQLITE_FULL is thrown and the batch is not half-written', () => {
    const path = join(dir, 'full.db');
    const mine = HistoryDb.open(path);
    mine.insert([historyRow()]);
    // max_page_count is per connection: reach the private handle the way only a test should.
    const handle = (mine as unknown as { db: Database.Database }).db;
    handle.pragma(`max_page_count = ${handle.pragma('page_count', { simple: true }) as number}`);
    const big = Array.from({ length: 500 }, () => historyRow({ requestId: 'x'.repeat(2000) }));
    expect(() => mine.insert(big)).toThrow(expect.objectContaining({ code: 'SQLITE_FULL' }));
    expect(mine.count()).toBe(1);
    mine.close();
  });

  it('read-only opening: refuses writes (SQLITE_READONLY) and files that are not a history database', () => {
    db.insert([historyRow()]);
    const ro = HistoryDb.open(join(dir, 'nested', 'history.db'), { readonly: true });
    expect(ro.count()).toBe(1);
    expect(() => ro.insert([historyRow()])).toThrow(expect.objectContaining({ code: 'SQLITE_READONLY' }));
    ro.close();
    const other = join(dir, 'other.db');
    new Database(other).close();
    expect(() => HistoryDb.open(other, { readonly: true })).toThrow(/not a Switchyard history database/);
    expect(() => HistoryDb.open(join(dir, 'missing.db'), { readonly: true })).toThrow();
  });

  it('an unwritable location fails at open (a path under a regular file, which even root cannot create)', () => {
    writeFileSync(join(dir, 'blocker'), 'x');
    expect(() => HistoryDb.open(join(dir, 'blocker', 'history.db'))).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/^E(NOTDIR|EXIST)$/) }),
    );
  });

  it('notices when its file was deleted or replaced underneath', () => {
    const path = join(dir, 'gone.db');
    const mine = HistoryDb.open(path);
    expect(mine.fileReplaced()).toBe(false);
    rmSync(path);
    expect(mine.fileReplaced()).toBe(true);
    mine.close();
    expect(HistoryDb.open(':memory:').fileReplaced()).toBe(false);
  });
});
