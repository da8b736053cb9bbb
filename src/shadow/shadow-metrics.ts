import { Injectable } from '@nestjs/common';
import type { Counter } from 'prom-client';
import type { FastHistogram } from '../metrics/fast-histogram';
import { MetricsRegistry } from '../metrics/metrics.registry';
import {
  DROP_REASONS,
  SHADOW_RESULTS,
  type ShadowComparison,
  type ShadowDropReason,
  type ShadowResult,
} from './shadow.types';

/** Copy minus primary, in seconds: symmetric around 0 (negative = the copy was faster). */
const LATENCY_DIFF_BOUNDS = [
  -60, -30, -10, -5, -2.5, -1, -0.5, -0.25, -0.1, -0.05, -0.01, 0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
  30, 60,
];
/** Copy minus primary output tokens. */
const TOKEN_DIFF_BOUNDS = [-4096, -1024, -256, -64, -16, -4, -1, 0, 1, 4, 16, 64, 256, 1024, 4096];

/**
 * Prometheus view of shadow runs. Monotonic (a `DELETE /api/shadow` resets the API's numbers, not these);
 * labels are bounded: result, reason, phase.
 */
@Injectable()
export class ShadowMetrics {
  private readonly requests: Counter<string>;
  private readonly drops: Counter<string>;
  private readonly latency: FastHistogram;
  private readonly tokens: FastHistogram;

  constructor(m: MetricsRegistry) {
    this.requests = m.counter(
      'switchyard_shadow_requests_total',
      'Shadow copies that ran, by how they ended (completed, failed, timed_out).',
      ['result'],
    );
    this.drops = m.counter(
      'switchyard_shadow_dropped_total',
      'Sampled requests not mirrored, by reason (concurrency, event_loop_lag, queue_waiting, circuit_open, …).',
      ['reason'],
    );
    this.latency = m.histogram(
      'switchyard_shadow_latency_diff_seconds',
      'Shadow copy minus primary latency per compared request (phase: ttfb, total); both sides answered.',
      ['phase'],
      LATENCY_DIFF_BOUNDS,
    );
    this.tokens = m.histogram(
      'switchyard_shadow_output_token_diff',
      'Shadow copy minus primary output tokens per compared request; both sides answered.',
      [],
      TOKEN_DIFF_BOUNDS,
    );
    for (const result of SHADOW_RESULTS) {
      this.requests.inc({ result }, 0);
    }
    for (const reason of DROP_REASONS) {
      this.drops.inc({ reason }, 0);
    }
  }

  ended(result: ShadowResult): void {
    this.requests.inc({ result });
  }

  dropped(reason: ShadowDropReason): void {
    this.drops.inc({ reason });
  }

  compared(c: ShadowComparison): void {
    if (c.primary.outcome !== 'ok' || c.shadow.outcome !== 'ok') {
      return;
    }
    if (c.diff.ttfbMs !== undefined) {
      this.latency.observe(c.diff.ttfbMs / 1000, 'ttfb');
    }
    if (c.diff.durationMs !== undefined) {
      this.latency.observe(c.diff.durationMs / 1000, 'total');
    }
    if (c.diff.outputTokens !== undefined) {
      this.tokens.observe(c.diff.outputTokens);
    }
  }
}
