import type { PinoLogger } from 'nestjs-pino';
import { RequestOutcomeService, type RequestOutcome } from '../common/request-outcome';
import type { AppConfigService } from '../config/config.service';
import { MetricsRegistry } from './metrics.registry';
import { SlaService, slaSample } from './sla.service';
import type { SlaHistorySource, SlaWindowTotals } from './sla.types';

const config = {
  get: (key: string) =>
    key === 'Metrics'
      ? {
          enabled: true,
          processMetrics: false,
          memoryLimitBytes: null,
          sla: { availability: 0.99, p95Ms: 300 },
        }
      : undefined,
} as unknown as AppConfigService;
const logger = { setContext: () => undefined, debug: () => undefined } as unknown as PinoLogger;

const outcome = (o: Partial<RequestOutcome>): RequestOutcome => ({
  startedAt: 0,
  requestId: 'r',
  route: 'messages',
  status: 200,
  stream: true,
  attempts: 1,
  failovers: 0,
  durationMs: 1000,
  ...o,
});

function service(source?: SlaHistorySource): {
  sla: SlaService;
  metrics: MetricsRegistry;
  outcomes: RequestOutcomeService;
} {
  const metrics = new MetricsRegistry(config);
  const outcomes = new RequestOutcomeService();
  const sla = new SlaService(config, outcomes, logger, metrics, source);
  sla.onModuleInit();
  return { sla, metrics, outcomes };
}

describe('SLA service', () => {
  it('reads outcomes the SLA way: client errors and aborts excluded, upstream and gateway failures failed, TTFB latency', () => {
    expect(slaSample(outcome({ ttfbMs: 120 }))).toEqual({ kind: 'ok', latencyMs: 120 });
    expect(slaSample(outcome({ stream: false }))).toEqual({ kind: 'ok', latencyMs: 1000 });
    expect(
      slaSample(outcome({ status: 400, errorSource: 'client', errorType: 'invalid_request_error' })),
    ).toEqual({ kind: 'excluded' });
    expect(slaSample(outcome({ status: 429, errorSource: 'client', errorType: 'rate_limit_error' }))).toEqual(
      { kind: 'excluded' },
    );
    expect(slaSample(outcome({ status: 200, errorSource: 'client', errorType: 'client_abort' }))).toEqual({
      kind: 'excluded',
    });
    expect(slaSample(outcome({ status: 499, errorType: 'client_abort' }))).toEqual({ kind: 'excluded' });
    expect(
      slaSample(outcome({ status: 503, errorSource: 'upstream', errorType: 'overloaded_error' })),
    ).toEqual({ kind: 'failed' });
    expect(slaSample(outcome({ status: 200, errorSource: 'upstream', errorType: 'timeout_error' }))).toEqual({
      kind: 'failed',
    });
    expect(slaSample(outcome({ status: 500, errorSource: 'gateway', errorType: 'api_error' }))).toEqual({
      kind: 'failed',
    });
  });

  it('/api/sla numbers: availability, percentiles, burn against Metrics.sla; 30d unavailable without a history', async () => {
    const { sla, outcomes } = service();
    for (let i = 0; i < 97; i++) {
      outcomes.emit(outcome({ ttfbMs: i < 90 ? 100 : 400 }));
    }
    for (let i = 0; i < 3; i++) {
      outcomes.emit(outcome({ status: 502, errorSource: 'upstream', errorType: 'api_error' }));
    }
    outcomes.emit(outcome({ status: 400, errorSource: 'client', errorType: 'invalid_request_error' }));
    const report = await sla.report();
    expect(report.targets).toEqual({ availability: 0.99, p95Ms: 300 });
    expect(report.windows['30d']).toBeNull();
    for (const w of ['5m', '1h', '24h'] as const) {
      const r = report.windows[w];
      expect(r).toMatchObject({
        source: 'memory',
        total: 100,
        failed: 3,
        excluded: 1,
        availability: 0.97,
        errorBudget: { burnRate: 3, remaining: -2 }, // 3 % failing against a 1 % budget
        latencyBudget: { slow: 7 },
        met: { availability: false, p95: false },
      });
      expect(r?.latencyMs.p50).toBeGreaterThan(95);
      expect(r?.latencyMs.p50).toBeLessThan(105);
      expect(r?.latencyMs.p95).toBeGreaterThan(380);
      expect(r?.latencyBudget.burnRate).toBeCloseTo(7 / 97 / 0.05, 3);
    }
  });

  it('the 30-day window comes from the history source, with the same definitions', async () => {
    const month: SlaWindowTotals = { total: 10_000, failed: 50, p50: 80, p95: 250, p99: 900 };
    const { sla, metrics } = service({ window30d: () => Promise.resolve(month) });
    const r = (await sla.report()).windows['30d'];
    expect(r).toEqual({
      window: '30d',
      source: 'history',
      total: 10_000,
      failed: 50,
      excluded: null,
      availability: 0.995,
      latencyMs: { p50: 80, p95: 250, p99: 900 },
      errorBudget: { burnRate: 0.5, remaining: 0.5 },
      latencyBudget: { slow: null, burnRate: null },
      met: { availability: true, p95: true },
    });
    const text = await metrics.render();
    expect(text).toContain('switchyard_sla_availability_ratio{window="30d"} 0.995');
    expect(text).toContain('switchyard_sla_latency_seconds{window="30d",percentile="95"} 0.25');
    expect(text).toContain('switchyard_sla_error_budget_burn_rate{window="30d"} 0.5');
    expect(text).toContain('switchyard_sla_availability_target_ratio 0.99');
    expect(text).toContain('switchyard_sla_latency_target_seconds 0.3');
    expect(text).not.toContain('window="5m"'); // no traffic yet: no figures, not zeros
  });

  it('a failing or hanging history never holds /api/sla up; it is asked at most once a minute', async () => {
    jest.useFakeTimers({ doNotFake: ['performance'] });
    try {
      let calls = 0;
      const hanging = service({
        window30d: () => {
          calls++;
          return new Promise(() => undefined);
        },
      }).sla;
      const pending = hanging.report();
      await jest.advanceTimersByTimeAsync(2_100);
      expect((await pending).windows['30d']).toBeNull();
      expect((await hanging.report()).windows['30d']).toBeNull(); // within the minute: not asked again
      const failing = service({ window30d: () => Promise.reject(new Error('disk gone')) }).sla;
      expect((await failing.report()).windows['30d']).toBeNull();
      expect(calls).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });
});
