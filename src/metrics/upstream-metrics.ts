import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { AppConfigService } from '../config/config.service';
import { FailoverCounters, type AttemptSample } from '../failover/failover-counters';
import { BUCKETS, type FastHistogram } from './fast-histogram';
import { MetricsRegistry, type Sample } from './metrics.registry';
import { splitTarget } from './outcome-class';

/**
 * Upstream calls: latency histograms fed once per finished call (FailoverCounters' attempt hook), and the
 * failover machinery's own running totals (failovers, retries, attempts, hedges, stream resumes, breaker
 * transitions) read at scrape time. Outcome labels: ok, failed, timeout, client_closed, hedge_lost.
 */
@Injectable()
export class UpstreamMetrics implements OnModuleInit, OnModuleDestroy {
  private readonly duration: FastHistogram;
  private readonly ttfb: FastHistogram;
  private readonly gap: FastHistogram;
  private unsubscribe?: () => void;

  constructor(
    m: MetricsRegistry,
    private readonly counters: FailoverCounters,
    private readonly config: AppConfigService,
  ) {
    const labels = ['provider', 'model', 'outcome'];
    this.duration = m.histogram(
      'switchyard_upstream_duration_seconds',
      'Upstream call duration, call start to its last event (or its failure), by provider, model and outcome.',
      labels,
      BUCKETS.request,
    );
    this.ttfb = m.histogram(
      'switchyard_upstream_ttfb_seconds',
      'Upstream time to first event of calls that produced one, by provider, model and outcome.',
      labels,
      BUCKETS.firstByte,
    );
    this.gap = m.histogram(
      'switchyard_upstream_chunk_gap_seconds',
      'Gaps between consecutive upstream events of streamed answers (upstream reads only, client backpressure excluded).',
      labels,
      BUCKETS.gap,
    );
    const c = counters;
    m.bridgedCounter(
      'switchyard_failovers_total',
      'Moves from a failed target to the next one in the chain, by from, to ("provider,model") and reason (trigger).',
      ['from', 'to', 'reason'],
      () => c.failoverCounts().map((f): Sample => [{ from: f.from, to: f.to, reason: f.reason }, f.count]),
    );
    m.bridgedCounter(
      'switchyard_retries_total',
      'Upstream calls made after a failed one within the same request, by the reason of the failure.',
      ['reason'],
      () => {
        const byReason = new Map<string, number>();
        for (const f of c.failoverCounts()) {
          byReason.set(f.reason, (byReason.get(f.reason) ?? 0) + f.count);
        }
        return [...byReason].map(([reason, n]): Sample => [{ reason }, n]);
      },
    );
    m.bridgedCounter(
      'switchyard_upstream_attempts_total',
      'Steps along failover chains by outcome (ok, failed, skipped) and reason (failed: the trigger or hedge_lost; skipped: cooldown, circuit_open, half_open_busy, rate_limited, saturated; ok: none).',
      ['outcome', 'reason'],
      () =>
        c
          .labelled('attempts')
          .map((s): Sample => [{ outcome: s.labels.outcome, reason: s.labels.reason ?? 'none' }, s.value]),
    );
    m.bridgedCounter(
      'switchyard_hedges_total',
      'Hedged requests by outcome: won_primary, won_hedge, both_failed, budget_exhausted (not started).',
      ['outcome'],
      () => c.labelled('hedges').map((s): Sample => [{ outcome: s.labels.outcome }, s.value]),
    );
    m.bridgedCounter(
      'switchyard_stream_resumes_total',
      'Streamed answers that broke after their first event: resumed on another target, refused (not resumable: content other than text, error type, no target or budget left) or failed (the continuation found no target that answered).',
      ['outcome'],
      () => c.labelled('stream_resumes').map((s): Sample => [{ outcome: s.labels.outcome }, s.value]),
    );
    m.bridgedCounter(
      'switchyard_circuit_transitions_total',
      'Circuit breaker transitions by the state entered (opened, closed).',
      ['to'],
      () => c.labelled('breaker_transitions').map((s): Sample => [{ to: s.labels.to }, s.value]),
    );
    m.bridgedCounter(
      'switchyard_all_targets_unavailable_total',
      'Requests refused with 503 because every target of their chain was open, cooling down or saturated.',
      [],
      () => [[{}, c.get('all_targets_unavailable')]],
    );
  }

  onModuleInit(): void {
    if (this.config.get('Metrics').enabled) {
      this.unsubscribe = this.counters.onAttemptEnd((s) => this.record(s));
    }
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  record(s: AttemptSample): void {
    const [provider, model] = splitTarget(s.target);
    this.duration.observe(s.durationMs / 1000, provider, model, s.outcome);
    if (s.ttfbMs !== undefined) {
      this.ttfb.observe(s.ttfbMs / 1000, provider, model, s.outcome);
    }
    if (s.gaps && s.gaps.count > 0) {
      this.gap.series(provider, model, s.outcome).merge(s.gaps);
    }
  }
}
