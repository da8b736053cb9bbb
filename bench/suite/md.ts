/** Markdown and number formatting for the suite's tables. */
import { fmtMs, type LatencyStats } from '../lib/open-loop';

export { fmtMs };

export function mdTable(head: string[], rows: (string | number)[][], align?: ('l' | 'r' | 'c')[]): string {
  const a = align ?? head.map((_, i) => (i === 0 ? 'l' : 'r'));
  const sep = a.map((x) => (x === 'l' ? '---' : x === 'c' ? ':---:' : '---:'));
  const cell = (v: string | number) => String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    `| ${head.join(' | ')} |`,
    `|${sep.join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

export const trio = (s: LatencyStats | undefined): string =>
  s ? `${fmtMs(s.p50)} / ${fmtMs(s.p95)} / ${fmtMs(s.p99)}` : '–';

export const pct = (x: number, digits = 1): string =>
  Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : '–';

export const num = (x: number, digits = 0): string =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '–';

export const ratio = (a: number, b: number): string =>
  Number.isFinite(a / b) && b > 0 ? `${(a / b).toFixed(2)}×` : '–';

/** A signed difference in ms ("+3.2", "−1.0"). */
export const added = (a: number, b: number): string => {
  const d = a - b;
  return Number.isFinite(d) ? `${d >= 0 ? '+' : '−'}${fmtMs(Math.abs(d))}` : '–';
};

export const yesNo = (met: boolean | null): string => (met === null ? '–' : met ? 'yes' : '**no**');
