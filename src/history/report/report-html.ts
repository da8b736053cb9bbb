import { fmtInt, fmtMs, fmtPct, fmtTokens } from './report-format';
import type { HistoryReport } from './report.types';
import { columns, esc, horizontalBars, lines } from './svg-charts';

const COLORS = {
  ok: '#4c8bf5',
  error: '#e8553e',
  p50: '#9cc3ff',
  p95: '#4c8bf5',
  p99: '#1b3f8f',
  input: '#4c8bf5',
  output: '#f2a541',
  cacheRead: '#5bb974',
  cacheCreation: '#a142f4',
  hit: '#5bb974',
};

/** Models shown in the per-model charts (the table lists them all). */
const TOP_MODELS = 12;

const STYLE = `
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:960px;color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#666;font-size:13px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px;margin:16px 0}
.card{border:1px solid #ddd;border-radius:8px;padding:10px 12px}
.card .v{font-size:18px;font-weight:600}.card .k{color:#666;font-size:12px}
figure.chart{margin:12px 0 20px}figcaption{font-weight:600;margin-bottom:6px;font-size:14px}
.legend{font-weight:400;font-size:12px;margin-left:12px}.key{margin-right:10px;white-space:nowrap}
.swatch{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px;vertical-align:-1px}
table{border-collapse:collapse;font-size:13px;width:100%}th,td{padding:4px 6px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left;white-space:normal}.left{text-align:left}th{background:#f6f6f6}
svg{max-width:100%;height:auto}
`;

function card(label: string, value: string): string {
  return `<div class="card"><div class="v">${esc(value)}</div><div class="k">${esc(label)}</div></div>`;
}

/** The first `textColumns` columns are text (left-aligned), the rest numbers. */
function htmlTable(header: string[], rows: string[][], textColumns = 1): string {
  const cls = (i: number): string => (i > 0 && i < textColumns ? ' class="left"' : '');
  const th = header.map((h, i) => `<th${cls(i)}>${esc(h)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${esc(c)}</td>`).join('')}</tr>`)
    .join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

function bucketLabel(iso: string, bucketMs: number): string {
  // UTC, like every time in the report: "06-01 14:00", or "06-01" for day buckets.
  return bucketMs >= 86_400_000 ? iso.slice(5, 10) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

/** The report as one self-contained HTML page: inline CSS, inline SVG charts, the JSON report embedded. */
export function renderHtml(r: HistoryReport): string {
  const s = r.summary;
  const top = r.models.slice(0, TOP_MODELS);
  const names = top.map((m) => m.model);
  const labels = r.timeline.buckets.map((b) => bucketLabel(b.start, r.timeline.bucketMs));
  const count = (n: number): string => fmtInt(n);
  const ms = (n: number): string => fmtMs(n);

  const charts = [
    columns({ id: 'chart-requests', title: 'Requests over time (UTC)', format: count }, labels, [
      {
        name: 'answered or aborted',
        color: COLORS.ok,
        values: r.timeline.buckets.map((b) => b.requests - b.errors),
      },
      { name: 'errors', color: COLORS.error, values: r.timeline.buckets.map((b) => b.errors) },
    ]),
    lines({ id: 'chart-latency-time', title: 'p95 latency over time', format: ms }, labels, [
      { name: 'p95', color: COLORS.p95, values: r.timeline.buckets.map((b) => b.p95Ms) },
    ]),
    horizontalBars(
      { id: 'chart-latency-models', title: 'Latency by model (answers without error)', format: ms },
      names,
      [
        { name: 'p50', color: COLORS.p50, values: top.map((m) => m.latencyMs.p50) },
        { name: 'p95', color: COLORS.p95, values: top.map((m) => m.latencyMs.p95) },
        { name: 'p99', color: COLORS.p99, values: top.map((m) => m.latencyMs.p99) },
      ],
    ),
    horizontalBars({ id: 'chart-top-models', title: 'Top models by requests', format: count }, names, [
      { name: 'requests', color: COLORS.ok, values: top.map((m) => m.requests) },
    ]),
    horizontalBars(
      { id: 'chart-error-rate', title: 'Error rate by model', format: (n) => fmtPct(n) },
      names,
      [{ name: 'error rate', color: COLORS.error, values: top.map((m) => m.errorRate) }],
    ),
    horizontalBars({ id: 'chart-cache', title: 'Cache hit rate by model', format: (n) => fmtPct(n) }, names, [
      { name: 'hit rate', color: COLORS.hit, values: top.map((m) => m.cacheHitRate) },
    ]),
    horizontalBars(
      { id: 'chart-tokens', title: 'Tokens by model and type', format: fmtTokens },
      names,
      [
        { name: 'input', color: COLORS.input, values: top.map((m) => m.tokens.input) },
        { name: 'output', color: COLORS.output, values: top.map((m) => m.tokens.output) },
        { name: 'cache read', color: COLORS.cacheRead, values: top.map((m) => m.tokens.cacheRead) },
        {
          name: 'cache creation',
          color: COLORS.cacheCreation,
          values: top.map((m) => m.tokens.cacheCreation),
        },
      ],
      true,
    ),
  ];

  const models = htmlTable(
    [
      'model',
      'requests',
      'errors',
      'error %',
      'failures',
      'p50',
      'p95',
      'p99',
      'TTFB p95',
      'cache hit',
      'failovers',
      'input',
      'output',
      'cache read',
      'cache creation',
    ],
    r.models.map((m) => [
      m.model,
      fmtInt(m.requests),
      fmtInt(m.errors),
      fmtPct(m.errorRate),
      fmtInt(m.failures),
      fmtMs(m.latencyMs.p50),
      fmtMs(m.latencyMs.p95),
      fmtMs(m.latencyMs.p99),
      fmtMs(m.ttfbMs.p95),
      fmtPct(m.cacheHitRate),
      fmtInt(m.failovers),
      fmtTokens(m.tokens.input),
      fmtTokens(m.tokens.output),
      fmtTokens(m.tokens.cacheRead),
      fmtTokens(m.tokens.cacheCreation),
    ]),
  );
  const errors = r.errors.length
    ? htmlTable(
        ['error type', 'source', 'count'],
        r.errors.map((e) => [e.errorType, e.errorSource ?? '–', fmtInt(e.count)]),
        2,
      )
    : '<p class="meta">No errors in this period.</p>';
  const scenarios = htmlTable(
    ['scenario', 'requests'],
    r.scenarios.map((x) => [x.scenario, fmtInt(x.requests)]),
  );
  // Embedded for tools; "<" escaped so no string in the data can close the script element.
  const data = JSON.stringify(r).replace(/</g, '\\u003c');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchyard report ${esc(r.period.since)} – ${esc(r.period.until)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Switchyard report</h1>
<div class="meta">${esc(r.period.since)} → ${esc(r.period.until)} (UTC) · source ${esc(r.source)} · generated ${esc(r.generatedAt)}</div>
<div class="cards">
${card('requests', fmtInt(s.requests))}
${card('error rate', fmtPct(s.errorRate, 2))}
${card('availability', fmtPct(s.availability, 3))}
${card('p50 / p95 / p99', `${fmtMs(s.latencyMs.p50)} / ${fmtMs(s.latencyMs.p95)} / ${fmtMs(s.latencyMs.p99)}`)}
${card('cache hit rate', fmtPct(s.cacheHitRate))}
${card('failovers', `${fmtInt(s.failovers)} in ${fmtInt(s.requestsWithFailover)} req.`)}
${card('tokens in / out', `${fmtTokens(s.tokens.input)} / ${fmtTokens(s.tokens.output)}`)}
${card('cache read / creation tokens', `${fmtTokens(s.tokens.cacheRead)} / ${fmtTokens(s.tokens.cacheCreation)}`)}
</div>
<h2>Charts</h2>
${charts.join('\n')}
<h2>Models</h2>
${models}
<h2>Errors</h2>
${errors}
<h2>Scenarios</h2>
${scenarios}
<script type="application/json" id="report-data">${data}</script>
</body>
</html>
`;
}
