/** Drives FailoverService through a real Nest context, real adapters and fake providers over HTTP. */
import { Test, type TestingModule } from '@nestjs/testing';
import { __resetOutOfContextForTests } from 'nestjs-pino/PinoLogger';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfigModule } from '../../src/config/config.module';
import { loadConfig } from '../../src/config/load-config';
import { FailoverCounters } from '../../src/failover/failover-counters';
import {
  FailoverService,
  attemptsOf,
  type AttemptRecord,
  type FailoverInput,
  type FailoverResult,
} from '../../src/failover/failover.service';
import { HealthScoreService } from '../../src/failover/health-score';
import { TargetStateService } from '../../src/failover/target-state.service';
import { HealthModule } from '../../src/health/health.module';
import { ProviderHealthIndicator } from '../../src/health/provider.health';
import { LoggingModule } from '../../src/logging/logging.module';
import type { StreamEvent } from '../../src/protocol/types';
import { ProviderRegistryService } from '../../src/providers/provider-registry.service';
import { RateLimitModule } from '../../src/ratelimit/ratelimit.module';
import { RedisModule } from '../../src/redis/redis.module';
import { RedisService } from '../../src/redis/redis.service';
import { TimeoutPolicyService } from '../../src/timeout/timeout-policy.service';
import { startFakeProvider, type FakeBehaviour, type FakeProvider } from '../fake-provider';
import { LogCapture } from '../support/log-capture';

export interface Outcome {
  result?: FailoverResult;
  error?: any;
  /** Every event (head + rest) when the call succeeded. */
  events: StreamEvent[];
  attempts: AttemptRecord[];
  ms: number;
}

export interface Harness {
  module: TestingModule;
  failover: FailoverService;
  scores: HealthScoreService;
  state: TargetStateService;
  timeouts: TimeoutPolicyService;
  counters: FailoverCounters;
  probes: ProviderHealthIndicator;
  redis: RedisService;
  logs: LogCapture;
  /** One execute() call, fully drained. */
  run(chain: string[], opts?: Partial<FailoverInput> & { text?: string }): Promise<Outcome>;
  close(): Promise<void>;
}

/** An OpenAI-kind provider `name` with models m1, m2 served by `url`. */
export function provider(
  name: string,
  url: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    api_base_url: `${url}/v1/chat/completions`,
    api_key: `sk-${name}`,
    models: ['m1', 'm2'],
    ...extra,
  };
}

/** Quiet, fast defaults for failover specs; tests override what they exercise. */
export const BASE_CONFIG = {
  LOG_LEVEL: 'info',
  Failover: { timeout: 5000, maxRetries: 3, health: { enabled: false } },
  AdaptiveTimeout: { idle: { maxMs: 10_000 } },
};

export async function startFakes(n: number, defaults?: Partial<FakeBehaviour>): Promise<FakeProvider[]> {
  return Promise.all(Array.from({ length: n }, () => startFakeProvider({ defaults })));
}

const merge = (a: Record<string, any>, b: Record<string, any>): Record<string, any> => {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && typeof a[k] === 'object' ? merge(a[k], v) : v;
  }
  return out;
};

export async function startHarness(opts: {
  providers: Record<string, unknown>[];
  config?: Record<string, unknown>;
  redisUrl?: string;
  keyPrefix?: string;
}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-failover-'));
  const file = join(dir, 'config.json');
  const user = merge(
    merge(BASE_CONFIG, {
      Providers: opts.providers,
      Router: { default: `${String(opts.providers[0].name)},m1` },
    }),
    opts.config ?? {},
  );
  if (opts.redisUrl) {
    user.Redis = {
      ...(user.Redis ?? {}),
      keyPrefix: opts.keyPrefix ?? `sy-failover-${process.pid}-${Date.now()}:`,
    };
  }
  writeFileSync(file, JSON.stringify(user));
  const env: Record<string, string> = { NODE_ENV: 'test', HOME: dir, SWITCHYARD_CONFIG: file, PORT: '0' };
  if (opts.redisUrl) {
    env.REDIS_URL = opts.redisUrl;
  }
  const loaded = loadConfig({ env });
  const logs = new LogCapture();
  // nestjs-pino keeps the first logger of the process for code outside a request: point it at this capture.
  __resetOutOfContextForTests();
  const module = await Test.createTestingModule({
    imports: [AppConfigModule.forRoot(loaded), LoggingModule.forRoot(logs), RedisModule, RateLimitModule, HealthModule],
  }).compile();
  await module.init();
  const failover = module.get(FailoverService);
  const registry = module.get(ProviderRegistryService);
  const redis = module.get(RedisService);
  if (opts.redisUrl) {
    const until = Date.now() + 5000;
    while (!redis.available && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const run = async (
    chain: string[],
    o: Partial<FailoverInput> & { text?: string } = {},
  ): Promise<Outcome> => {
    const request = {
      model: 'client-model',
      max_tokens: 64,
      stream: o.stream ?? true,
      messages: [{ role: 'user' as const, content: o.text ?? 'Hello' }],
    };
    const started = performance.now();
    const controller = new AbortController();
    try {
      const result = await failover.execute({
        chain,
        scenario: 'default',
        inputTokens: 10,
        maxTokens: 64,
        model: 'client-model',
        signal: o.signal ?? controller.signal,
        attempt: (target, signal) => {
          const t = registry.target(target);
          if (!t) {
            throw new Error(`unknown target ${target}`);
          }
          return registry.adapterFor(t).send(request, t, {
            requestId: 'test',
            signal,
            clientHeaders: {},
            inputTokensEstimate: 10,
            clientModel: 'client-model',
          });
        },
        ...o,
      });
      const events = [...result.head];
      for (let r = await result.events.next(); !r.done; r = await result.events.next()) {
        events.push(r.value);
      }
      return { result, events, attempts: result.attempts, ms: performance.now() - started };
    } catch (error) {
      return { error, events: [], attempts: attemptsOf(error) ?? [], ms: performance.now() - started };
    }
  };

  return {
    module,
    failover,
    scores: module.get(HealthScoreService),
    state: module.get(TargetStateService),
    timeouts: module.get(TimeoutPolicyService),
    counters: module.get(FailoverCounters),
    probes: module.get(ProviderHealthIndicator),
    redis,
    logs,
    run,
    close: () => module.close(),
  };
}

/** Chat requests a fake saw (model-list probes excluded). */
export const calls = (fake: FakeProvider): number => fake.requests.filter((r) => r.api === 'openai').length;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
