import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type Redis from 'ioredis';
import { withTimeout } from '../common/with-timeout';

/** Persisted latency samples of one target, oldest first. */
export interface TargetSamples {
  ttfb: number[];
  gap: number[];
}

export type HistoryRecord = Record<string, TargetSamples>;

export interface HistoryStoreOptions {
  /** The hot-path client when usable right now. */
  redis: () => Redis | undefined;
  /** Hash holding one field per target. */
  key: string;
  ttlMs: number;
  commandTimeoutMs: number;
  /** JSON file (AdaptiveTimeout.historyPath), written whenever set. */
  path?: string;
}

const isNumbers = (v: unknown): v is number[] => Array.isArray(v) && v.every((n) => typeof n === 'number');

function parseSamples(value: unknown): TargetSamples | undefined {
  const v = value as Partial<TargetSamples> | null;
  return v && isNumbers(v.ttfb) && isNumbers(v.gap) ? { ttfb: v.ttfb, gap: v.gap } : undefined;
}

/**
 * Where learned latencies survive a restart: a Redis hash (shared by every instance, with a TTL) when
 * Redis is up, and a JSON file when `historyPath` is set. Every call is bounded by the Redis command
 * timeout; failures are reported to the caller, never thrown into a request.
 */
export class TimeoutHistoryStore {
  constructor(private readonly opts: HistoryStoreOptions) {}

  loadFile(): HistoryRecord {
    if (!this.opts.path) {
      return {};
    }
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.opts.path, 'utf8'));
    } catch {
      return {}; // absent or unreadable: start learning from scratch
    }
    const out: HistoryRecord = {};
    for (const [target, value] of Object.entries((raw as { targets?: object } | null)?.targets ?? {})) {
      const samples = parseSamples(value);
      if (samples) {
        out[target] = samples;
      }
    }
    return out;
  }

  /** Undefined when Redis is not usable right now. */
  async loadRedis(): Promise<HistoryRecord | undefined> {
    const client = this.opts.redis();
    if (!client) {
      return undefined;
    }
    const all = await withTimeout(
      client.hgetall(this.opts.key),
      this.opts.commandTimeoutMs,
      'timeout history load',
    );
    const out: HistoryRecord = {};
    for (const [target, json] of Object.entries(all)) {
      try {
        const samples = parseSamples(JSON.parse(json));
        if (samples) {
          out[target] = samples;
        }
      } catch {
        // a corrupt field costs that target its history, nothing more
      }
    }
    return out;
  }

  /** Writes the changed targets to Redis (if up) and the whole history to the file (if set). */
  async save(changed: HistoryRecord, all: () => HistoryRecord): Promise<void> {
    const entries = Object.entries(changed);
    if (entries.length === 0) {
      return;
    }
    const failures: string[] = [];
    const client = this.opts.redis();
    if (client) {
      try {
        const multi = client.multi();
        multi.hset(this.opts.key, Object.fromEntries(entries.map(([t, s]) => [t, JSON.stringify(s)])));
        multi.pexpire(this.opts.key, this.opts.ttlMs);
        await withTimeout(multi.exec(), this.opts.commandTimeoutMs, 'timeout history save');
      } catch (err) {
        failures.push(`redis: ${(err as Error).message}`);
      }
    }
    if (this.opts.path) {
      try {
        const tmp = `${this.opts.path}.${process.pid}.tmp`;
        await mkdir(dirname(this.opts.path), { recursive: true });
        await writeFile(tmp, JSON.stringify({ version: 1, savedAt: Date.now(), targets: all() }));
        await rename(tmp, this.opts.path); // atomic: a crash mid-write never leaves a torn file
      } catch (err) {
        failures.push(`file: ${(err as Error).message}`);
      }
    }
    if (failures.length > 0) {
      throw new Error(`timeout history not saved (${failures.join('; ')})`);
    }
  }
}
