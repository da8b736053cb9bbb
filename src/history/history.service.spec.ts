import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PinoLogger } from 'nestjs-pino';
import { RequestOutcomeService, type RequestOutcome } from '../common/request-outcome';
import type { AppConfigService } from '../config/config.service';
import type { TimeoutPolicyService } from '../timeout/timeout-policy.service';
import { HistoryDb } from './history-db';
import { HistoryService } from './history.service';
import { historyRow, tempDir } from './history.test-helpers';

const outcome = (over: Partial<RequestOutcome> = {}): RequestOutcome => ({
  startedAt: Date.now(),
  requestId: `r-${Math.random()}`,
  route: 'messages',
  scenario: 'default',
  target: 'openai,gpt-fake',
  clientModel: 'claude-sonnet-4',
  status: 200,
  stream: true,
  cache: 'MISS',
  attempts: 1,
  failovers: 0,
  ttfbMs: 40,
  durationMs: 120,
  usage: { input_tokens: 11, output_tokens: 22, cache_read_input_tokens: 3, cache_creation_input_tokens: 4 },
  ...over,
});

async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) {
      throw new Error('condition not met in time');
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The service with its real worker thread and writer; outcomes emitted directly (no gateway). */
describe('HistoryService', () => {
  let dir: string;
  let outcomes: RequestOutcomeService;
  let seeded: Record<string, number[]>;
  let service: HistoryService;
  const logger = { setContext: jest.fn(), info: jest.fn(), warn: jest.fn(), debug: jest.fn() };

  function start(history: Record<string, unknown>): HistoryService {
    const config = {
      get: (key: string) =>
        key === 'History'
          ? {
              enabled: true,
              path: join(dir, 'h.db'),
              retentionDays: 30,
              pruneIntervalMs: 3_600_000,
              batchSize: 50,
              flushIntervalMs: 20,
              maxQueue: 1000,
              busyTimeoutMs: 50,
              seedTimeouts: true,
              ...history,
            }
          : { historySize: 3 },
    } as unknown as AppConfigService;
    const timeouts = {
      seedFirstByte: (target: string, samples: number[]) => {
        seeded[target] = samples;
        return true;
      },
    } as unknown as TimeoutPolicyService;
    service = new HistoryService(config, outcomes, timeouts, logger as unknown as PinoLogger);
    service.onModuleInit();
    return service;
  }

  beforeEach(() => {
    dir = tempDir();
    outcomes = new RequestOutcomeService();
    seeded = {};
  });
  afterEach(async () => {
    await service.onApplicationShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores one row per emitted outcome with every field mapped', async () => {
    start({});
    const o = outcome({
      dedup: 'leader',
      queueClass: 'interactive',
      queueWaitMs: 5,
      upstreamMs: 100,
      errorType: undefined,
    });
    outcomes.emit(o);
    await until(() => service.stats().written === 1);
    const db = HistoryDb.open(join(dir, 'h.db'), { readonly: true });
    expect([...db.iterate(0, Date.now() + 1)]).toEqual([
      historyRow({
        ts: o.startedAt,
        requestId: o.requestId,
        dedup: 'leader',
        queueClass: 'interactive',
        queueWaitMs: 5,
        ttfbMs: 40,
        durationMs: 120,
        upstreamMs: 100,
        inputTokens: 11,
        outputTokens: 22,
        cacheReadTokens: 3,
        cacheCreationTokens: 4,
      }),
    ]);
    db.close();
    expect(service.stats()).toMatchObject({
      enabled: true,
      state: 'ok',
      accepted: 1,
      written: 1,
      dropped: 0,
    });
  });

  it('an unwritable path: emitting stays instant, the state is failing with the cause, writes resume when fixed', async () => {
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'x');
    start({ path: join(blocker, 'h.db') });
    const started = Date.now();
    for (let i = 0; i < 100; i++) {
      outcomes.emit(outcome());
    }
    expect(Date.now() - started).toBeLessThan(100);
    await until(() => service.stats().state === 'failing');
    expect(service.healthDetails()).toMatchObject({ state: 'failing', code: expect.stringMatching(/^E/) });
    expect(logger.warn).toHaveBeenCalled();
    rmSync(blocker);
    await until(() => service.stats().written === 100);
    expect(service.stats()).toMatchObject({ state: 'ok', queued: 0, dropped: 0 });
  });

  it('window30d: gateway/upstream failures and latency of the last 30 days; undefined without rows', async () => {
    start({});
    const now = Date.now();
    expect(await service.window30d(now)).toBeUndefined();
    outcomes.emit(outcome({ ttfbMs: 100 }));
    outcomes.emit(outcome({ ttfbMs: 300 }));
    outcomes.emit(outcome({ status: 502, errorType: 'api_error', errorSource: 'upstream', ttfbMs: 9 }));
    outcomes.emit(outcome({ status: 400, errorType: 'invalid_request_error', errorSource: 'client' }));
    outcomes.emit(outcome({ errorType: 'client_abort', errorSource: 'client' }));
    outcomes.emit(
      outcome({ startedAt: now - 31 * 86_400_000, errorType: 'api_error', errorSource: 'gateway' }),
    );
    await until(() => service.stats().written === 6);
    // A fresh `now` past the 30 s cache; client errors and aborts are not counted.
    expect(await service.window30d(now + 60_000)).toEqual({
      total: 3,
      failed: 1,
      p50: 100,
      p95: 300,
      p99: 300,
    });
  });

  it('prunes rows older than retentionDays', async () => {
    start({ retentionDays: 1 });
    outcomes.emit(outcome({ startedAt: Date.now() - 2 * 86_400_000 }));
    outcomes.emit(outcome());
    await until(() => service.stats().written === 2);
    expect(await service.prune()).toBe(1);
    expect(service.stats().pruned).toBe(1);
  });

  it('seeds the adaptive timeouts at bootstrap from the last rows per target', async () => {
    const db = HistoryDb.open(join(dir, 'h.db'));
    const now = Date.now();
    db.insert(
      [10, 20, 30, 40].map((ttfbMs, i) => historyRow({ ts: now - 1000 + i, ttfbMs, queueWaitMs: 0 })),
    );
    db.close();
    start({});
    service.onApplicationBootstrap();
    await until(() => seeded['openai,gpt-fake'] !== undefined);
    expect(seeded).toEqual({ 'openai,gpt-fake': [20, 30, 40] }); // historySize 3
  });

  it('disabled: nothing subscribes, stats say so, no SLA data', async () => {
    start({ enabled: false });
    outcomes.emit(outcome());
    expect(service.stats()).toMatchObject({ enabled: false, state: 'disabled', accepted: 0 });
    expect(await service.window30d(Date.now())).toBeUndefined();
  });
});
