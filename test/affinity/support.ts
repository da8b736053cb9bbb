/** One gateway "process" as far as affinity is concerned: its own config, Redis connection, service, HTTP app. */
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type Redis from 'ioredis';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AffinityModule } from '../../src/affinity/affinity.module';
import { AffinityService } from '../../src/affinity/affinity.service';
import { ApiKeyGuard } from '../../src/auth/api-key.guard';
import { AllExceptionsFilter } from '../../src/common/errors/all-exceptions.filter';
import { AppConfigModule } from '../../src/config/config.module';
import { loadConfig } from '../../src/config/load-config';
import { LoggingModule } from '../../src/logging/logging.module';
import { RedisModule } from '../../src/redis/redis.module';
import { RedisService } from '../../src/redis/redis.service';
import { eventually } from '../support/gateway';
import { LogCapture } from '../support/log-capture';

export { eventually };

export const API_KEY = 'affinity-test-key';

export interface AffinityInstance {
  app: NestFastifyApplication;
  affinity: AffinityService;
  redis: RedisService;
  logs: LogCapture;
  close(): Promise<void>;
}

export interface InstanceOptions {
  /** Omit for an instance without Redis. */
  redisUrl?: string;
  keyPrefix: string;
  affinity?: { enabled?: boolean; ttlSec?: number; moveAfter?: number };
  redis?: Record<string, unknown>;
}

/** A Nest application with the real Redis, config, logging and affinity modules, behind the API key guard. */
export async function startInstance(o: InstanceOptions): Promise<AffinityInstance> {
  const home = mkdtempSync(join(tmpdir(), 'switchyard-affinity-'));
  const loaded = loadConfig({
    env: { NODE_ENV: 'test', HOME: home },
    overrides: {
      APIKEY: API_KEY,
      Logging: { level: 'info' },
      Redis: o.redisUrl
        ? { enabled: true, url: o.redisUrl, keyPrefix: o.keyPrefix, ...(o.redis ?? {}) }
        : { keyPrefix: o.keyPrefix },
      Affinity: o.affinity ?? {},
    },
  });
  const logs = new LogCapture();
  const moduleRef = await Test.createTestingModule({
    imports: [AppConfigModule.forRoot(loaded), LoggingModule.forRoot(logs), RedisModule, AffinityModule],
    providers: [
      { provide: APP_GUARD, useClass: ApiKeyGuard },
      { provide: APP_FILTER, useClass: AllExceptionsFilter },
    ],
  }).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter({ logger: false }), {
    logger: false,
  });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  const redis = app.get(RedisService);
  if (o.redisUrl) {
    await eventually(() => redis.available !== undefined, 5000);
  }
  return { app, affinity: app.get(AffinityService), redis, logs, close: () => app.close() };
}

export const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

/** The session's hash key, as the service names it (`<prefix>affinity:v1:<sha256(session)>`). */
export const sessionKey = (prefix: string, sessionId: string): string =>
  `${prefix}affinity:v1:${sha256(sessionId)}`;

/** Deletes every key under `prefix` (SCAN, not KEYS, so a shared server is not blocked). */
export async function deleteKeys(raw: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) {
      await raw.del(...keys);
    }
  } while (cursor !== '0');
}

/** A small deterministic generator (the same sequence on every run). */
export function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 48271) % 2147483647);
}
