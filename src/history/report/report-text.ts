import { fmtInt, fmtLatency, fmtMs, fmtPct, fmtTokens } from './report-format';
import type { HistoryReport } from './report.types';

/** Columns padded to their widest cell: the first `textColumns` left-aligned, the numbers after them right-aligned. */
export function table(header: string[], rows: string[][], textColumns = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i < textColumns ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The report as a terminal page. */
export function renderText(r: HistoryReport): string {
  const s = r.summary;
  const out: string[] = [];
  out.push(`Switchyard report  ${r.period.since} → ${r.period.until}`);
  out.push(`source ${r.source}, generated ${r.generatedAt}`);
  out.push('');
  if (s.requests === 0) {
    out.push('No requests in this period.');
    return `${out.join('\n')}\n`;
  }
  out.push(
    `Requests      ${fmtInt(s.requests)} (${fmtInt(s.streamed)} streamed, ${fmtInt(s.attempts)} upstream attempts)`,
  );
  out.push(
    `Errors        ${fmtInt(s.errors)} (${fmtPct(s.errorRate, 2)}): failures ${fmtInt(s.failures)} (${fmtPct(s.failureRate, 2)}), client errors ${fmtInt(s.clientErrors)}; aborts ${fmtInt(s.aborts)}`,
  );
  out.push(`Availability  ${fmtPct(s.availability, 3)}`);
  out.push(`Latency       ${fmtLatency(s.latencyMs)}`);
  out.push(`TTFB          ${fmtLatency(s.ttfbMs)}`);
  out.push(
    `Cache         hit rate ${fmtPct(s.cacheHitRate)} (${fmtInt(s.cacheHits)} hits, ${fmtInt(s.cacheMisses)} misses); dedup followers ${fmtInt(s.dedupFollowers)}`,
  );
  out.push(`Failovers     ${fmtInt(s.failovers)} (in ${fmtInt(s.requestsWithFailover)} requests)`);
  out.push(
    `Tokens        input ${fmtTokens(s.tokens.input)}, output ${fmtTokens(s.tokens.output)}, cache read ${fmtTokens(s.tokens.cacheRead)}, cache creation ${fmtTokens(s.tokens.cacheCreation)}, total ${fmtTokens(s.tokens.total)}`,
  );
  out.push('');
  out.push('By model (most requests first)');
  out.push(
    table(
      [
        'model',
        'requests',
        'errors',
        'error %',
        'p50',
        'p95',
        'p99',
        'cache hit',
        'failovers',
        'in tok',
        'out tok',
      ],
      r.models.map((m) => [
        m.model,
        fmtInt(m.requests),
        fmtInt(m.errors),
        fmtPct(m.errorRate),
        fmtMs(m.latencyMs.p50),
        fmtMs(m.latencyMs.p95),
        fmtMs(m.latencyMs.p99),
        fmtPct(m.cacheHitRate),
        fmtInt(m.failovers),
        fmtTokens(m.tokens.input),
        fmtTokens(m.tokens.output),
      ]),
    ),
  );
  if (r.errors.length > 0) {
    out.push('');
    out.push('Errors');
    out.push(
      table(
        ['error type', 'source', 'count'],
        r.errors.map((e) => [e.errorType, e.errorSource ?? '–', fmtInt(e.count)]),
        2,
      ),
    );
  }
  out.push('');
  out.push('Scenarios');
  out.push(
    table(
      ['scenario', 'requests'],
      r.scenarios.map((x) => [x.scenario, fmtInt(x.requests)]),
    ),
  );
  return `${out.join('\n')}\n`;
}
