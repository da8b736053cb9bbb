import { GatewayError } from '../protocol/errors';
import type { BatchPageQuery, BatchPageResult, BatchStore, SettleResult, Settlement } from './batch.store';
import type { BatchRecord, BatchRequestInput, BatchResult, BatchResultLine, Outcome } from './batch.types';

interface MemoryBatch {
  record: BatchRecord;
  customIds: string[];
  /** Dropped as each request settles: only pending requests hold their params. */
  params: (Record<string, unknown> | undefined)[];
  results: (BatchResult | undefined)[];
}

/** Batches kept in memory at most; ended ones are dropped oldest first to make room. */
export const MEMORY_MAX_BATCHES = 1000;

const copy = (record: BatchRecord): BatchRecord => ({ ...record, counts: { ...record.counts } });

/**
 * The store without Redis: one process, nothing survives a restart. Bounded by MEMORY_MAX_BATCHES and by
 * the retention (`Batches.retainSec` after a batch ended).
 */
export class MemoryBatchStore implements BatchStore {
  readonly durable = false;
  private readonly batches = new Map<string, MemoryBatch>();

  constructor(
    private readonly retainMs: number,
    private readonly maxBatches = MEMORY_MAX_BATCHES,
  ) {}

  async create(record: BatchRecord, requests: BatchRequestInput[]): Promise<void> {
    if (this.batches.size >= this.maxBatches) {
      this.evictEnded(this.batches.size - this.maxBatches + 1);
    }
    if (this.batches.size >= this.maxBatches) {
      throw new GatewayError(429, `Too many unfinished batches (at most ${this.maxBatches} without Redis)`, {
        type: 'rate_limit_error',
      });
    }
    this.batches.set(record.id, {
      record: copy(record),
      customIds: requests.map((r) => r.custom_id),
      params: requests.map((r) => r.params),
      results: new Array<BatchResult | undefined>(requests.length).fill(undefined),
    });
  }

  async get(id: string): Promise<BatchRecord | undefined> {
    const batch = this.batches.get(id);
    return batch ? copy(batch.record) : undefined;
  }

  async list(query: BatchPageQuery): Promise<BatchPageResult> {
    const ids = [...this.batches.keys()].sort().reverse();
    let page: string[];
    let hasMore: boolean;
    if (query.afterId !== undefined) {
      const after = query.afterId;
      const older = ids.filter((id) => id < after);
      page = older.slice(0, query.limit);
      hasMore = older.length > query.limit;
    } else if (query.beforeId !== undefined) {
      const before = query.beforeId;
      const newer = ids.filter((id) => id > before);
      page = newer.slice(Math.max(0, newer.length - query.limit));
      hasMore = newer.length > query.limit;
    } else {
      page = ids.slice(0, query.limit);
      hasMore = ids.length > query.limit;
    }
    return { batches: page.map((id) => copy(this.batches.get(id)!.record)), hasMore };
  }

  async params(id: string, index: number): Promise<Record<string, unknown> | undefined> {
    return this.batches.get(id)?.params[index];
  }

  async pending(id: string): Promise<number[]> {
    const batch = this.batches.get(id);
    if (!batch) {
      return [];
    }
    const out: number[] = [];
    batch.results.forEach((r, i) => {
      if (r === undefined) {
        out.push(i);
      }
    });
    return out;
  }

  async settle(id: string, settlements: Settlement[], now: number): Promise<SettleResult> {
    const batch = this.batches.get(id);
    if (!batch) {
      return { settled: 0, ended: false };
    }
    let settled = 0;
    for (const s of settlements) {
      if (s.index >= 0 && s.index < batch.results.length && batch.results[s.index] === undefined) {
        batch.results[s.index] = s.result;
        batch.params[s.index] = undefined;
        batch.record.counts[s.outcome] += 1;
        batch.record.counts.processing -= 1;
        settled += 1;
      }
    }
    return { settled, ended: settled > 0 && this.endIfDone(batch, now) };
  }

  async settleRemaining(
    id: string,
    outcome: Outcome,
    result: BatchResult,
    now: number,
  ): Promise<SettleResult> {
    const pending = await this.pending(id);
    return this.settle(
      id,
      pending.map((index) => ({ index, outcome, result })),
      now,
    );
  }

  async cancel(id: string, now: number): Promise<BatchRecord | undefined> {
    const batch = this.batches.get(id);
    if (!batch) {
      return undefined;
    }
    if (batch.record.status === 'in_progress') {
      batch.record.status = 'canceling';
      batch.record.cancelInitiatedAt = now;
    }
    return copy(batch.record);
  }

  async *results(id: string): AsyncIterable<BatchResultLine> {
    const batch = this.batches.get(id);
    if (!batch) {
      return;
    }
    for (let i = 0; i < batch.customIds.length; i++) {
      const result = batch.results[i];
      if (result !== undefined) {
        yield { custom_id: batch.customIds[i], result };
      }
    }
  }

  async delete(id: string): Promise<boolean> {
    return this.batches.delete(id);
  }

  async unfinished(): Promise<BatchRecord[]> {
    return [...this.batches.values()]
      .filter((b) => b.record.status !== 'ended')
      .map((b) => copy(b.record))
      .sort((a, b) => a.expiresAt - b.expiresAt);
  }

  async prune(now: number): Promise<void> {
    for (const [id, batch] of this.batches) {
      if (batch.record.endedAt !== null && batch.record.endedAt + this.retainMs <= now) {
        this.batches.delete(id);
      }
    }
  }

  get size(): number {
    return this.batches.size;
  }

  private endIfDone(batch: MemoryBatch, now: number): boolean {
    if (batch.record.counts.processing > 0 || batch.record.status === 'ended') {
      return false;
    }
    batch.record.status = 'ended';
    batch.record.endedAt = now;
    return true;
  }

  private evictEnded(count: number): void {
    const ended = [...this.batches.values()]
      .filter((b) => b.record.endedAt !== null)
      .sort((a, b) => a.record.endedAt! - b.record.endedAt!);
    for (const batch of ended.slice(0, count)) {
      this.batches.delete(batch.record.id);
    }
  }
}
