import Anthropic from '@anthropic-ai/sdk';
import type {
  MessageBatch,
  MessageBatchIndividualResponse,
} from '@anthropic-ai/sdk/resources/messages/batches';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { eventually, startGateway, type GatewayUnderTest } from '../support/gateway';

export const redisUrl = (): string => process.env.TEST_REDIS_URL as string;

/** A key prefix of its own per test, so tests never see each other's batches, jobs or circuits. */
export const uniquePrefix = (): string => `tb${randomUUID().slice(0, 8)}:`;

export interface BatchGatewayOptions {
  /** Redis key prefix; undefined = no Redis at all (memory store, in-process jobs). */
  prefix?: string;
  /** With Redis: BullMQ jobs (default) or the in-process queue (JobQueue.enabled false). */
  bullmq?: boolean;
  /** Merged into JobQueue.queues.batch (defaults here: small concurrency, quick retries). */
  batchQueue?: Record<string, unknown>;
  batches?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/** A gateway with BatchesModule, on the given Redis prefix with BullMQ (or without Redis), ready to queue. */
export async function startBatchGateway(options: BatchGatewayOptions = {}): Promise<GatewayUnderTest> {
  const batchQueue = { concurrency: 4, attempts: 2, backoffMs: 200, ...(options.batchQueue ?? {}) };
  const redis = options.prefix
    ? {
        Redis: { enabled: true, url: redisUrl(), keyPrefix: options.prefix },
        JobQueue: { enabled: options.bullmq !== false, prefix: 'q', queues: { batch: batchQueue } },
      }
    : { JobQueue: { enabled: false, queues: { batch: batchQueue } } };
  const gw = await startGateway({
    config: { ...redis, Batches: { enabled: true, ...(options.batches ?? {}) }, ...(options.config ?? {}) },
  });
  const mode = options.prefix && options.bullmq !== false ? 'bullmq' : 'local';
  const key = (options.config?.APIKEY as string | undefined) ?? '';
  await eventually(
    async () => (await request(gw.url).get('/api/queue').set('x-api-key', key)).body.mode === mode,
    10_000,
  );
  if (options.prefix) {
    // The store answers once the hot Redis connection is up.
    await eventually(
      async () => (await request(gw.url).get('/v1/messages/batches').set('x-api-key', key)).status === 200,
      10_000,
    );
  }
  return gw;
}

export const sdk = (url: string): Anthropic => new Anthropic({ baseURL: url, apiKey: 'test', maxRetries: 0 });

/** A Messages body for a batch request; the text makes it unique (no cache hit, no coalescing). */
export const params = (model: string, text: string, directive?: Record<string, unknown>) => ({
  model,
  max_tokens: 64,
  messages: [
    { role: 'user' as const, content: directive ? `${text} [[fake:${JSON.stringify(directive)}]]` : text },
  ],
});

export async function waitForStatus(
  client: Anthropic,
  id: string,
  status: MessageBatch['processing_status'],
  timeoutMs = 20_000,
): Promise<MessageBatch> {
  let last: MessageBatch | undefined;
  await eventually(async () => {
    last = await client.messages.batches.retrieve(id);
    return last.processing_status === status;
  }, timeoutMs);
  return last as MessageBatch;
}

export async function resultsOf(client: Anthropic, id: string): Promise<MessageBatchIndividualResponse[]> {
  const out: MessageBatchIndividualResponse[] = [];
  for await (const line of await client.messages.batches.results(id)) {
    out.push(line);
  }
  return out;
}

/** Deletes every key under `prefix` (SCAN, not KEYS). */
export async function deleteKeys(prefix: string): Promise<void> {
  const raw = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await raw.connect();
    let cursor = '0';
    do {
      const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) {
        await raw.del(...keys);
      }
    } while (cursor !== '0');
  } finally {
    raw.disconnect();
  }
}

/** Keys under `prefix` right now. */
export async function keysUnder(prefix: string): Promise<string[]> {
  const raw = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await raw.connect();
    return await raw.keys(`${prefix}*`);
  } finally {
    raw.disconnect();
  }
}

/** Remaining time to live of each key, in ms (-1 none, -2 missing). */
export async function ttlsOf(keys: string[]): Promise<number[]> {
  const raw = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await raw.connect();
    return await Promise.all(keys.map((k) => raw.pttl(k)));
  } finally {
    raw.disconnect();
  }
}
