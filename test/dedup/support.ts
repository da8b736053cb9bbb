import { Test } from '@nestjs/testing';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StreamEvent } from '../../src/protocol/types';
import { AppConfigModule } from '../../src/config/config.module';
import { loadConfig } from '../../src/config/load-config';
import { DedupModule } from '../../src/dedup/dedup.module';
import { DedupService } from '../../src/dedup/dedup.service';
import type { DedupJoin, DedupSettings, LeaderCall } from '../../src/dedup/dedup.types';
import { LoggingModule } from '../../src/logging/logging.module';
import { RedisModule } from '../../src/redis/redis.module';
import { RedisService } from '../../src/redis/redis.service';
import { LogCapture } from '../support/log-capture';
import { eventually } from '../support/gateway';

export { eventually };

/** One gateway "process" as far as dedup is concerned: its own config, logger, Redis connections, service. */
export interface DedupInstance {
  dedup: DedupService;
  redis: RedisService;
  logs: LogCapture;
  close(): Promise<void>;
}

export async function startInstance(
  options: { redisUrl?: string; keyPrefix?: string; dedup?: Partial<DedupSettings> } = {},
): Promise<DedupInstance> {
  const home = mkdtempSync(join(tmpdir(), 'switchyard-dedup-'));
  const loaded = loadConfig({
    env: { NODE_ENV: 'test', HOME: home, ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}) },
    overrides: {
      Logging: { level: 'info' },
      Redis: { keyPrefix: options.keyPrefix ?? 'test:' },
      Dedup: options.dedup ?? {},
    },
  });
  const logs = new LogCapture();
  const moduleRef = await Test.createTestingModule({
    imports: [AppConfigModule.forRoot(loaded), LoggingModule.forRoot(logs), RedisModule, DedupModule],
  }).compile();
  await moduleRef.init();
  const redis = moduleRef.get(RedisService);
  if (options.redisUrl) {
    await eventually(() => redis.available !== undefined, 5000);
  }
  return { dedup: moduleRef.get(DedupService), redis, logs, close: () => moduleRef.close() };
}

export function messageStart(id: string): StreamEvent {
  return {
    type: 'message_start',
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model: 'fake-model',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: 12,
        output_tokens: 1,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    },
  };
}

/** A complete canonical answer of `deltas` text deltas; `variant` changes the words, never the shape. */
export function answer(deltas: number, id = 'msg_fake', variant = ''): StreamEvent[] {
  const events: StreamEvent[] = [
    messageStart(id),
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  ];
  for (let i = 0; i < deltas; i++) {
    events.push({
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: `${variant}word${i} ` },
    });
  }
  events.push(
    { type: 'content_block_stop', index: 0 },
    {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: deltas },
    },
    { type: 'message_stop' },
  );
  return events;
}

export interface FakeUpstreamOptions {
  deltas?: number;
  /** Different words (a non-deterministic model); the default repeats the same answer on every call. */
  variant?: string;
  firstEventDelayMs?: number;
  eventDelayMs?: number;
  /** Thrown before the first event. */
  failBeforeFirst?: Error;
  /** Thrown after this many events. */
  failAfter?: number;
}

/** A fake upstream: counts its calls and records their abort signals. */
export class FakeUpstream {
  calls = 0;
  readonly signals: AbortSignal[] = [];
  yielded = 0;

  constructor(private readonly o: FakeUpstreamOptions = {}) {}

  get events(): StreamEvent[] {
    return answer(this.o.deltas ?? 20, 'msg_fake', this.o.variant);
  }

  readonly call: LeaderCall = async (signal) => {
    this.calls++;
    this.signals.push(signal);
    if (this.o.firstEventDelayMs) {
      await sleep(this.o.firstEventDelayMs, undefined, { signal });
    }
    if (this.o.failBeforeFirst) {
      throw this.o.failBeforeFirst;
    }
    return this.generate(signal);
  };

  private async *generate(signal: AbortSignal): AsyncGenerator<StreamEvent> {
    let n = 0;
    for (const event of this.events) {
      if (this.o.failAfter !== undefined && n === this.o.failAfter) {
        throw new Error('upstream connection reset');
      }
      if (this.o.eventDelayMs && n > 0) {
        await sleep(this.o.eventDelayMs, undefined, { signal });
      }
      n++;
      this.yielded++;
      yield event;
    }
  }
}

export async function drain(
  iterator: AsyncIterator<StreamEvent>,
  limit = Number.MAX_SAFE_INTEGER,
): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  while (out.length < limit) {
    const step = await iterator.next();
    if (step.done) {
      break;
    }
    out.push(step.value);
  }
  return out;
}

export function joinMany(
  dedup: DedupService,
  key: string,
  call: LeaderCall,
  n: number,
): Array<Promise<DedupJoin>> {
  return Array.from({ length: n }, () => dedup.join(key, call, new AbortController().signal));
}

/** Events with message ids blanked, for comparing answers from different calls. */
export function withoutIds(events: StreamEvent[]): StreamEvent[] {
  return events.map((e) => (e.type === 'message_start' ? { ...e, message: { ...e.message, id: '-' } } : e));
}
