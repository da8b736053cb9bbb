import type { ConfigService } from '@nestjs/config';
import type { PinoLogger } from 'nestjs-pino';
import { CacheService } from '../../src/cache/cache.service';
import { AppConfigService } from '../../src/config/config.service';
import { loadConfig } from '../../src/config/load-config';
import { DegradedModeService } from '../../src/redis/degraded-mode.service';
import { RedisService } from '../../src/redis/redis.service';

/** A validated configuration from the real layers (defaults + test) plus `overrides`; no user file. */
export function testConfig(
  overrides: Record<string, unknown> = {},
  env: Record<string, string> = {},
): AppConfigService {
  const loaded = loadConfig({
    env: { NODE_ENV: 'test', HOME: '/nonexistent-switchyard-home', ...env },
    overrides,
  });
  return new AppConfigService({ getOrThrow: () => loaded } as unknown as ConfigService);
}

/** A PinoLogger stand-in that drops everything (services only call its level methods and setContext). */
export function silentLogger(): PinoLogger {
  return new Proxy({}, { get: () => () => undefined }) as PinoLogger;
}

export interface RedisStack {
  config: AppConfigService;
  redis: RedisService;
  degraded: DegradedModeService;
  close(): Promise<void>;
}

/** RedisService + DegradedModeService as Nest would build them, started (onModuleInit) against `url`. */
export function startRedisStack(
  url: string | undefined,
  overrides: Record<string, unknown> = {},
): RedisStack {
  const config = testConfig(overrides, url ? { REDIS_URL: url } : {});
  const redis = new RedisService(config, silentLogger());
  const degraded = new DegradedModeService(redis);
  redis.onModuleInit();
  return {
    config,
    redis,
    degraded,
    close: async () => {
      degraded.onModuleDestroy();
      await redis.onApplicationShutdown();
    },
  };
}

export interface CacheStack extends RedisStack {
  cache: CacheService;
}

/** The cache service over a started Redis stack, its lifecycle hooks run like Nest would. */
export async function startCacheStack(
  url: string | undefined,
  overrides: Record<string, unknown> = {},
): Promise<CacheStack> {
  const stack = startRedisStack(url, overrides);
  const cache = new CacheService(stack.config, stack.redis, stack.degraded, silentLogger());
  await cache.onModuleInit();
  return {
    ...stack,
    cache,
    close: async () => {
      await cache.onApplicationShutdown();
      await stack.close();
    },
  };
}

/** Polls `cond` every 20 ms until it holds; resolves with the elapsed ms, rejects after `timeoutMs`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await cond()) {
      return Date.now() - start;
    }
    if (Date.now() - start > timeoutMs) {
      throw new Error(`condition not met within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
