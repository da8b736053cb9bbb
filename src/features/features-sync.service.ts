import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { RedisService, type RedisClient } from '../redis/redis.service';
import { FEATURE_NAMES } from './feature-set';
import { FeaturesService } from './features.service';
import type { FeatureNotice } from './features.types';
import { GUARD_TRIGGERS } from './guard-window';

const flagChange = z.object({
  enabled: z.boolean().optional(),
  rollout: z.number().min(0).max(100).optional(),
});

const message = z.object({
  from: z.string(),
  notice: z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('set'),
      changes: z.partialRecord(z.enum(FEATURE_NAMES), flagChange),
      at: z.number(),
    }),
    z.object({
      kind: z.literal('trip'),
      feature: z.enum(FEATURE_NAMES),
      trip: z.object({
        trigger: z.enum(GUARD_TRIGGERS),
        value: z.number(),
        threshold: z.number(),
        at: z.number(),
      }),
    }),
  ]),
});

/**
 * Runtime flag changes reach every instance: an operator's `PUT /api/features` and the guard's rollbacks are
 * published on a Redis channel and applied by the others. Without Redis each instance keeps its own state.
 * Redis being down loses the notice (the change still holds here); nothing on the request path waits for it.
 */
@Injectable()
export class FeaturesSyncService implements OnModuleInit, OnApplicationShutdown {
  /** This instance (several apps share a process in tests, so not the process's id). */
  private readonly origin = randomUUID();
  private subscriber?: RedisClient;
  private stopListening?: () => void;

  constructor(
    private readonly redis: RedisService,
    private readonly features: FeaturesService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('features');
  }

  private get channel(): string {
    return this.redis.key('features', 1, 'changes');
  }

  onModuleInit(): void {
    if (!this.redis.configured) {
      return;
    }
    const sub = this.redis.createDedicatedConnection('switchyard:features-sub');
    this.subscriber = sub;
    sub.on('ready', () => void sub.subscribe(this.channel).catch(() => undefined));
    sub.on('message', (_channel: string, text: string) => this.receive(text));
    this.stopListening = this.features.onNotice((notice) => void this.publish(notice));
  }

  onApplicationShutdown(): void {
    this.stopListening?.();
  }

  private async publish(notice: FeatureNotice): Promise<void> {
    const client = this.redis.available;
    if (!client) {
      this.logger.warn(
        { kind: notice.kind },
        'Redis unavailable: this feature change stays on this instance',
      );
      return;
    }
    try {
      await client.publish(this.channel, JSON.stringify({ from: this.origin, notice }));
    } catch (err) {
      this.logger.warn(
        { err: (err as Error).message },
        'feature change not published to the other instances',
      );
    }
  }

  private receive(text: string): void {
    let parsed: z.infer<typeof message>;
    try {
      const result = message.safeParse(JSON.parse(text));
      if (!result.success) {
        this.logger.warn('malformed feature notice ignored');
        return;
      }
      parsed = result.data;
    } catch {
      this.logger.warn('malformed feature notice ignored');
      return;
    }
    if (parsed.from !== this.origin) {
      this.features.applyNotice(parsed.notice);
    }
  }
}
