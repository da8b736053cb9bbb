import { Inject, Injectable, Optional, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { RequestOutcomeService, type RequestOutcome } from '../common/request-outcome';
import { withTimeout } from '../common/with-timeout';
import { AppConfigService } from '../config/config.service';
import { MetricsRegistry, type Sample } from './metrics.registry';
import { outcomeClass } from './outcome-class';
import { SlaWindows, WINDOW_MS, figures, type MemoryWindow, type SlaSample } from './sla-window';
import {
  SLA_HISTORY_SOURCE,
  type SlaHistorySource,
  type SlaReport,
  type SlaWindowReport,
  type SlaWindowTotals,
} from './sla.types';

const MEMORY_WINDOWS = Object.keys(WINDOW_MS) as MemoryWindow[];
/** The 30-day window is read from SQLite at most this often, and never waited for longer than this. */
const HISTORY_REFRESH_MS = 60_000;
const HISTORY_TIMEOUT_MS = 2_000;

const round = (n: number | null, digits = 6): number | null =>
  n === null ? null : Math.round(n * 10 ** digits) / 10 ** digits;

/** A finished request as the SLA sees it. */
export function slaSample(o: RequestOutcome): SlaSample {
  switch (outcomeClass(o)) {
    case 'client_error':
    case 'client_abort':
      return { kind: 'excluded' };
    case 'upstream_error':
    case 'gateway_error':
      return { kind: 'failed' };
    case 'success':
      return { kind: 'ok', latencyMs: o.ttfbMs ?? o.durationMs };
  }
}

/**
 * SLA tracking (docs/observability.md#sla): rolling 5 m / 1 h / 24 h windows of this instance in memory,
 * the 30-day window from the request history; availability, latency percentiles and error-budget burn
 * against `Metrics.sla`. `GET /api/sla` and the `switchyard_sla_*` gauges read the same numbers.
 */
@Injectable()
export class SlaService implements OnModuleInit, OnModuleDestroy {
  private readonly windows: SlaWindows;
  private readonly targets: { availability: number; p95Ms: number };
  private unsubscribe?: () => void;
  private history?: { at: number; value: SlaWindowTotals | undefined };
  private historyRead?: Promise<SlaWindowTotals | undefined>;

  constructor(
    private readonly config: AppConfigService,
    private readonly outcomes: RequestOutcomeService,
    private readonly logger: PinoLogger,
    m: MetricsRegistry,
    @Optional() @Inject(SLA_HISTORY_SOURCE) private readonly source?: SlaHistorySource,
  ) {
    this.logger.setContext('sla');
    this.targets = { ...config.get('Metrics').sla };
    this.windows = new SlaWindows(this.targets.p95Ms);
    this.registerGauges(m);
  }

  onModuleInit(): void {
    if (this.config.get('Metrics').enabled) {
      this.unsubscribe = this.outcomes.subscribe((o) => this.windows.record(Date.now(), slaSample(o)));
    }
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  /** Feeds one request (tests, and the outcome subscription). */
  record(o: RequestOutcome, now = Date.now()): void {
    this.windows.record(now, slaSample(o));
  }

  async report(now = Date.now()): Promise<SlaReport> {
    const windows = {} as SlaReport['windows'];
    for (const w of MEMORY_WINDOWS) {
      windows[w] = this.memoryWindow(w, now);
    }
    const month = await this.history30d(now, true);
    windows['30d'] = month ? this.historyWindow(month) : null;
    return { at: new Date(now).toISOString(), targets: { ...this.targets }, latency: 'ttfb', windows };
  }

  memoryWindow(window: MemoryWindow, now = Date.now()): SlaWindowReport {
    const t = this.windows.totals(window, now);
    const f = figures(t, this.targets.availability);
    return {
      window,
      source: 'memory',
      total: t.total,
      failed: t.failed,
      excluded: t.excluded,
      availability: round(f.availability),
      latencyMs: { p50: round(f.p50, 1), p95: round(f.p95, 1), p99: round(f.p99, 1) },
      errorBudget: {
        burnRate: round(f.burnRate, 4),
        remaining: f.burnRate === null ? null : round(1 - f.burnRate, 4),
      },
      latencyBudget: { slow: t.slow, burnRate: round(f.latencyBurnRate, 4) },
      met: {
        availability: f.availability === null ? null : f.availability >= this.targets.availability,
        p95: f.p95 === null ? null : f.p95 <= this.targets.p95Ms,
      },
    };
  }

  private historyWindow(h: SlaWindowTotals): SlaWindowReport {
    const availability = h.total > 0 ? (h.total - h.failed) / h.total : null;
    const burnRate = h.total > 0 ? h.failed / h.total / (1 - this.targets.availability) : null;
    const hasLatency = h.total - h.failed > 0;
    return {
      window: '30d',
      source: 'history',
      total: h.total,
      failed: h.failed,
      excluded: null,
      availability: round(availability),
      latencyMs: hasLatency ? { p50: h.p50, p95: h.p95, p99: h.p99 } : { p50: null, p95: null, p99: null },
      errorBudget: {
        burnRate: round(burnRate, 4),
        remaining: burnRate === null ? null : round(1 - burnRate, 4),
      },
      latencyBudget: { slow: null, burnRate: null },
      met: {
        availability: availability === null ? null : availability >= this.targets.availability,
        p95: hasLatency ? h.p95 <= this.targets.p95Ms : null,
      },
    };
  }

  /**
   * The 30-day totals: cached for a minute; `wait` false (scrapes) answers from the cache at once and
   * refreshes behind. A slow or failing history never holds up /api/sla for long.
   */
  private async history30d(now: number, wait: boolean): Promise<SlaWindowTotals | undefined> {
    if (!this.source) {
      return undefined;
    }
    if (this.history && now - this.history.at < HISTORY_REFRESH_MS) {
      return this.history.value;
    }
    const source = this.source;
    this.historyRead ??= withTimeout(source.window30d(now), HISTORY_TIMEOUT_MS, 'SLA history window')
      .then(
        (value) => {
          this.history = { at: now, value };
          return value;
        },
        (err: Error) => {
          this.logger.debug({ err: err.message }, '30-day SLA window unavailable');
          this.history = { at: now, value: this.history?.value }; // asked again in a minute, not at once
          return this.history.value;
        },
      )
      .finally(() => {
        this.historyRead = undefined;
      });
    return wait ? this.historyRead : this.history?.value;
  }

  private registerGauges(m: MetricsRegistry): void {
    const each = async (pick: (r: SlaWindowReport) => Sample[]): Promise<Sample[]> => {
      const now = Date.now();
      const reports = MEMORY_WINDOWS.map((w) => this.memoryWindow(w, now));
      const month = await this.history30d(now, false);
      if (month) {
        reports.push(this.historyWindow(month));
      }
      return reports.flatMap(pick);
    };
    const some = (labels: Record<string, string>, v: number | null): Sample[] =>
      v === null ? [] : [[labels, v]];
    m.computedGauge(
      'switchyard_sla_availability_ratio',
      'Share of requests (client errors and aborts left out) that did not fail, per SLA window (5m, 1h, 24h of this instance; 30d from the history).',
      ['window'],
      () => each((r) => some({ window: r.window }, r.availability)),
    );
    // `percentile`, not `quantile`: that label is reserved for summaries, and these are gauges of a window.
    m.computedGauge(
      'switchyard_sla_latency_seconds',
      'Time to first byte of successful answers per SLA window, by percentile (50, 95, 99; nearest rank).',
      ['window', 'percentile'],
      () =>
        each((r) =>
          (['50', '95', '99'] as const).flatMap((p) => {
            const ms = r.latencyMs[`p${p}`];
            return some({ window: r.window, percentile: p }, ms === null ? null : ms / 1000);
          }),
        ),
    );
    m.computedGauge(
      'switchyard_sla_error_budget_burn_rate',
      'Failure ratio over the allowed one (1 − Metrics.sla.availability), per SLA window: 1 spends the budget exactly.',
      ['window'],
      () => each((r) => some({ window: r.window }, r.errorBudget.burnRate)),
    );
    m.computedGauge(
      'switchyard_sla_latency_budget_burn_rate',
      'Share of successful answers slower than Metrics.sla.p95Ms over the allowed 5 %, per in-memory SLA window.',
      ['window'],
      () => each((r) => some({ window: r.window }, r.latencyBudget.burnRate)),
    );
    m.computedGauge('switchyard_sla_availability_target_ratio', 'Metrics.sla.availability.', [], () => [
      [{}, this.targets.availability],
    ]);
    m.computedGauge('switchyard_sla_latency_target_seconds', 'Metrics.sla.p95Ms, in seconds.', [], () => [
      [{}, this.targets.p95Ms / 1000],
    ]);
  }
}
