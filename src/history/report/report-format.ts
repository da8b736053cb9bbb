import type { LatencyPercentiles } from '../history.types';

/** Number formatting shared by the text and HTML reports (fixed locale: reports diff cleanly). */
export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');

export const fmtPct = (r: number | null, digits = 1): string =>
  r === null ? '–' : `${(r * 100).toFixed(digits)}%`;

export const fmtMs = (ms: number | null): string => {
  if (ms === null) {
    return '–';
  }
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${fmtInt(ms)} ms`;
};

export const fmtLatency = (p: LatencyPercentiles): string =>
  `p50 ${fmtMs(p.p50)} · p95 ${fmtMs(p.p95)} · p99 ${fmtMs(p.p99)}`;

/** Compact token counts: 1.2k, 3.4M. */
export const fmtTokens = (n: number): string => {
  if (n >= 1e9) {
    return `${(n / 1e9).toFixed(1)}G`;
  }
  if (n >= 1e6) {
    return `${(n / 1e6).toFixed(1)}M`;
  }
  if (n >= 1e4) {
    return `${(n / 1e3).toFixed(1)}k`;
  }
  return fmtInt(n);
};
