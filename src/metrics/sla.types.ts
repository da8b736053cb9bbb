/**
 * Injection token of the 30-day SLA window. The request history (src/history) provides it; without it the
 * `30d` window of `/api/sla` is reported as unavailable.
 */
export const SLA_HISTORY_SOURCE = Symbol('SLA_HISTORY_SOURCE');

/** Totals and latency of one SLA window (the in-memory ones and the 30-day one mean the same things). */
export interface SlaWindowTotals {
  /**
   * Requests that count for availability: every finished request except client errors (`errorSource:
   * 'client'`, e.g. validation 4xx, the client's own rate limit) and client aborts (`errorType: 'client_abort'`).
   */
  total: number;
  /** Among them, gateway or upstream failures (`errorSource` 'gateway' | 'upstream'). */
  failed: number;
  /**
   * Percentiles in ms of the SLA latency of the successful ones (no `errorType`): the time to the first byte
   * written to the client (`ttfbMs`), else the duration.
   */
  p50: number;
  p95: number;
  p99: number;
}

/** Where the 30-day window comes from (SQLite request history). */
export interface SlaHistorySource {
  /** The last 30 days up to `now` (epoch ms); undefined when there is no history or no row in it. */
  window30d(now: number): Promise<SlaWindowTotals | undefined>;
}

export const SLA_WINDOWS = ['5m', '1h', '24h', '30d'] as const;
export type SlaWindowName = (typeof SLA_WINDOWS)[number];

/** One window as `/api/sla` reports it. */
export interface SlaWindowReport {
  window: SlaWindowName;
  /** `memory` (this instance, rolling) or `history` (SQLite). */
  source: 'memory' | 'history';
  total: number;
  failed: number;
  /** Client errors and aborts seen in the window, not counted for availability (memory windows only). */
  excluded: number | null;
  /** (total − failed) / total; null without traffic. */
  availability: number | null;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  errorBudget: {
    /** Failure ratio over the allowed one (1 − target): 1 spends the budget exactly over the window. */
    burnRate: number | null;
    /** Share of this window's budget left: 1 − burnRate (negative when overspent). */
    remaining: number | null;
  };
  latencyBudget: {
    /** Successful answers slower than the p95 target (memory windows only). */
    slow: number | null;
    /** Slow share over the allowed 5 %. */
    burnRate: number | null;
  };
  met: { availability: boolean | null; p95: boolean | null };
}

export interface SlaReport {
  at: string;
  targets: { availability: number; p95Ms: number };
  latency: 'ttfb';
  windows: Record<SlaWindowName, SlaWindowReport | null>;
}
