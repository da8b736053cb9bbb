import Database from 'better-sqlite3';
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HistoryRow, WindowSummary } from './history.types';
import { nearestRank } from './percentile';

const SCHEMA_VERSION = 1;
const MEMORY = ':memory:';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS requests (
  id INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  route TEXT NOT NULL,
  scenario TEXT,
  target TEXT,
  client_model TEXT,
  status INTEGER NOT NULL,
  stream INTEGER NOT NULL,
  cache TEXT,
  dedup TEXT,
  attempts INTEGER NOT NULL,
  failovers INTEGER NOT NULL,
  queue_class TEXT,
  queue_wait_ms REAL,
  ttfb_ms REAL,
  duration_ms REAL NOT NULL,
  upstream_ms REAL,
  input_tokens INTEGER,
  output_tokens INTEGER,
  cache_read_tokens INTEGER,
  cache_creation_tokens INTEGER,
  error_type TEXT,
  error_source TEXT
);
CREATE INDEX IF NOT EXISTS requests_ts ON requests (ts);
CREATE INDEX IF NOT EXISTS requests_target_ts ON requests (target, ts);
`;

/** Column ↔ field pairs, in insert order (one list so the insert and the select cannot drift apart). */
const COLUMNS: [column: string, field: keyof HistoryRow][] = [
  ['ts', 'ts'],
  ['request_id', 'requestId'],
  ['route', 'route'],
  ['scenario', 'scenario'],
  ['target', 'target'],
  ['client_model', 'clientModel'],
  ['status', 'status'],
  ['stream', 'stream'],
  ['cache', 'cache'],
  ['dedup', 'dedup'],
  ['attempts', 'attempts'],
  ['failovers', 'failovers'],
  ['queue_class', 'queueClass'],
  ['queue_wait_ms', 'queueWaitMs'],
  ['ttfb_ms', 'ttfbMs'],
  ['duration_ms', 'durationMs'],
  ['upstream_ms', 'upstreamMs'],
  ['input_tokens', 'inputTokens'],
  ['output_tokens', 'outputTokens'],
  ['cache_read_tokens', 'cacheReadTokens'],
  ['cache_creation_tokens', 'cacheCreationTokens'],
  ['error_type', 'errorType'],
  ['error_source', 'errorSource'],
];

const INSERT_SQL = `INSERT INTO requests (${COLUMNS.map(([c]) => c).join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`;
const SELECT_SQL = `SELECT ${COLUMNS.map(([c, f]) => `${c} AS ${f}`).join(', ')} FROM requests`;

/** SLA failures: the gateway's or the upstream's, never the client's. */
const FAILED = `error_source IN ('gateway', 'upstream')`;
/** Requests the SLA counts at all: client errors and client aborts are left out. */
const COUNTED = `coalesce(error_source, '') <> 'client' AND coalesce(error_type, '') <> 'client_abort'`;

/**
 * Rows whose client TTFB approximates the upstream's first byte: one streamed attempt, no failover, not a
 * cache hit or a coalesced follower, answered without error. Queue wait is subtracted in the query.
 */
const SEEDABLE = `target IS NOT NULL AND stream = 1 AND attempts = 1 AND failovers = 0 AND error_type IS NULL
  AND ttfb_ms IS NOT NULL AND (cache IS NULL OR cache <> 'HIT') AND (dedup IS NULL OR dedup <> 'follower')`;

export interface HistoryDbOptions {
  /** Open an existing file read-only (the report CLI). */
  readonly?: boolean;
  /** How long a statement waits for another connection's lock (SQLITE_BUSY after it). */
  busyTimeoutMs?: number;
}

type Param = string | number | null;

const toParams = (row: HistoryRow): Param[] =>
  COLUMNS.map(([, field]) => {
    const v = row[field];
    return typeof v === 'boolean' ? (v ? 1 : 0) : v;
  });

const fromRecord = (r: Record<string, unknown>): HistoryRow =>
  ({ ...r, stream: r.stream === 1 }) as HistoryRow;

/**
 * The SQLite side of the request history, synchronous (better-sqlite3): used inside the history worker
 * thread and by the report CLI, never on the gateway's event loop. WAL, prepared statements, one
 * transaction per batch.
 */
export class HistoryDb {
  private readonly insertMany: (rows: HistoryRow[]) => void;
  private readonly inode: number | null;

  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
  ) {
    const insert = db.prepare<Param[]>(INSERT_SQL);
    this.insertMany = db.transaction((rows: HistoryRow[]) => {
      for (const row of rows) {
        insert.run(...toParams(row));
      }
    });
    this.inode = path === MEMORY ? null : statSync(path).ino;
  }

  static open(path: string, options: HistoryDbOptions = {}): HistoryDb {
    if (options.readonly) {
      const db = new Database(path, { readonly: true, fileMustExist: true });
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version !== SCHEMA_VERSION) {
        db.close();
        throw new Error(`${path} is not a Switchyard history database (schema version ${version})`);
      }
      return new HistoryDb(db, path);
    }
    if (path !== MEMORY) {
      mkdirSync(dirname(path), { recursive: true });
    }
    const db = new Database(path, { timeout: options.busyTimeoutMs ?? 1000 });
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw new Error(`history schema version ${version} is newer than this gateway's (${SCHEMA_VERSION})`);
      }
      if (version < SCHEMA_VERSION) {
        db.exec(SCHEMA);
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      }
      return new HistoryDb(db, path);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  /** True when the file this connection writes to was deleted or replaced (writes would go nowhere). */
  fileReplaced(): boolean {
    if (this.inode === null) {
      return false;
    }
    const st = statSync(this.path, { throwIfNoEntry: false });
    return st?.ino !== this.inode;
  }

  /** One transaction: all rows or none. */
  insert(rows: HistoryRow[]): void {
    if (rows.length > 0) {
      this.insertMany(rows);
    }
  }

  /** Deletes rows that arrived before `beforeTs`, in chunks so no single statement holds the lock long. */
  prune(beforeTs: number, chunk = 5000): number {
    const del = this.db.prepare<[number, number]>(
      'DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE ts < ? LIMIT ?)',
    );
    let removed = 0;
    for (;;) {
      const { changes } = del.run(beforeTs, chunk);
      removed += changes;
      if (changes < chunk) {
        return removed;
      }
    }
  }

  count(): number {
    return this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM requests').get()?.n ?? 0;
  }

  /** Rows with `from ≤ ts < to`, oldest first, one at a time (a month of rows need not fit in memory). */
  iterate(from: number, to: number): IterableIterator<HistoryRow> {
    const it = this.db
      .prepare<[number, number], Record<string, unknown>>(
        `${SELECT_SQL} WHERE ts >= ? AND ts < ? ORDER BY ts, id`,
      )
      .iterate(from, to);
    return (function* () {
      for (const r of it) {
        yield fromRecord(r);
      }
    })();
  }

  /**
   * The SLA of `from ≤ ts < to`, defined as the in-memory SLA windows define it (src/metrics/sla.types.ts):
   * `total` leaves out client errors and client aborts, `failed` = gateway or upstream failures, and the
   * percentiles (nearest rank) are of the SLA latency of answers without error — time to first byte, else
   * the duration — read in order so only three values are kept.
   */
  window(from: number, to: number): WindowSummary {
    const totals = this.db
      .prepare<[number, number], { total: number; failed: number | null; ok: number | null }>(
        `SELECT count(*) AS total, sum(CASE WHEN ${FAILED} THEN 1 ELSE 0 END) AS failed,
                sum(CASE WHEN error_type IS NULL THEN 1 ELSE 0 END) AS ok
         FROM requests WHERE ts >= ? AND ts < ? AND ${COUNTED}`,
      )
      .get(from, to) ?? { total: 0, failed: 0, ok: 0 };
    const out: WindowSummary = {
      total: totals.total,
      failed: totals.failed ?? 0,
      p50: null,
      p95: null,
      p99: null,
    };
    const ok = totals.ok ?? 0;
    if (ok === 0) {
      return out;
    }
    const wanted: [keyof WindowSummary & ('p50' | 'p95' | 'p99'), number][] = [
      ['p50', nearestRank(50, ok)],
      ['p95', nearestRank(95, ok)],
      ['p99', nearestRank(99, ok)],
    ];
    const latencies = this.db
      .prepare<[number, number]>(
        `SELECT coalesce(ttfb_ms, duration_ms) AS latency FROM requests
         WHERE ts >= ? AND ts < ? AND error_type IS NULL ORDER BY latency`,
      )
      .pluck()
      .iterate(from, to);
    let rank = 0;
    for (const latency of latencies) {
      rank++;
      for (const [key, at] of wanted) {
        if (at === rank) {
          out[key] = latency as number;
        }
      }
      if (rank >= wanted[2][1]) {
        break; // the iterator's return() resets the statement
      }
    }
    return out;
  }

  /**
   * The newest `perTarget` first-byte samples per target since `sinceTs` (oldest first), from rows whose
   * client TTFB minus queue wait stands for the upstream's first byte (see SEEDABLE).
   */
  ttfbSamples(sinceTs: number, perTarget: number): Record<string, number[]> {
    const rows = this.db
      .prepare<[number, number], { target: string; ttfb: number }>(
        `SELECT target, ttfb FROM (
           SELECT target, ts, id, max(0, ttfb_ms - coalesce(queue_wait_ms, 0)) AS ttfb,
                  row_number() OVER (PARTITION BY target ORDER BY ts DESC, id DESC) AS rn
           FROM requests WHERE ts >= ? AND ${SEEDABLE}
         ) WHERE rn <= ? ORDER BY target, ts, id`,
      )
      .all(sinceTs, perTarget);
    const out: Record<string, number[]> = {};
    for (const { target, ttfb } of rows) {
      (out[target] ??= []).push(ttfb);
    }
    return out;
  }

  close(): void {
    if (this.db.open) {
      this.db.close();
    }
  }
}
