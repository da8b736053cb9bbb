import { historyRow } from '../history.test-helpers';
import { nearestRank, percentiles } from '../percentile';
import { UsageError, parseInstant, parsePeriod } from './period';
import { buildReport, bucketSizeFor } from './report-builder';
import { renderHtml } from './report-html';
import { renderText, table } from './report-text';
import { niceMax } from './svg-charts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.parse('2025-06-10T12:00:00.000Z');

describe('percentiles (nearest rank, as LatencyWindow)', () => {
  it.each([
    [[], { p50: null, p95: null, p99: null }],
    [[7], { p50: 7, p95: 7, p99: 7 }],
    [[3, 1, 2], { p50: 2, p95: 3, p99: 3 }],
    [Array.from({ length: 100 }, (_, i) => 100 - i), { p50: 50, p95: 95, p99: 99 }],
    [Array.from({ length: 1000 }, (_, i) => i + 1), { p50: 500, p95: 950, p99: 990 }],
    [[10, 10, 10, 20], { p50: 10, p95: 20, p99: 20 }],
  ])('%j → %j', (samples, expected) => {
    expect(percentiles([...samples])).toEqual(expected);
  });

  it('ranks stay inside 1..n', () => {
    expect(nearestRank(0, 5)).toBe(1);
    expect(nearestRank(100, 5)).toBe(5);
    expect(nearestRank(50, 1)).toBe(1);
  });
});

describe('report period', () => {
  it('durations count back from now; ISO dates and date-times are absolute', () => {
    expect(parseInstant('24h', NOW)).toBe(NOW - DAY);
    expect(parseInstant('7d', NOW)).toBe(NOW - 7 * DAY);
    expect(parseInstant('90m', NOW)).toBe(NOW - 90 * 60_000);
    expect(parseInstant('2w', NOW)).toBe(NOW - 14 * DAY);
    expect(parseInstant('1.5h', NOW)).toBe(NOW - 1.5 * HOUR);
    expect(parseInstant('now', NOW)).toBe(NOW);
    expect(parseInstant('2025-06-01', NOW)).toBe(Date.parse('2025-06-01T00:00:00Z'));
    expect(parseInstant('2025-06-01T08:30:00+02:00', NOW)).toBe(Date.parse('2025-06-01T06:30:00Z'));
  });

  it('defaults to the last 24 hours; --since alone ends now; --until alone starts 24 h before it', () => {
    expect(parsePeriod(undefined, undefined, NOW)).toEqual({ since: NOW - DAY, until: NOW });
    expect(parsePeriod('7d', undefined, NOW)).toEqual({ since: NOW - 7 * DAY, until: NOW });
    expect(parsePeriod(undefined, '2025-06-01', NOW)).toEqual({
      since: Date.parse('2025-05-31T00:00:00Z'),
      until: Date.parse('2025-06-01T00:00:00Z'),
    });
    expect(parsePeriod('7d', '1d', NOW)).toEqual({ since: NOW - 7 * DAY, until: NOW - DAY });
  });

  it.each(['yesterday', '24', '5y', '2025-13-45', '', '-1d'])('rejects %j with a usage error', (v) => {
    expect(() => parseInstant(v, NOW)).toThrow(UsageError);
  });

  it('rejects an empty or inverted period', () => {
    expect(() => parsePeriod('1d', '7d', NOW)).toThrow(/must be before/);
  });

  it('timeline buckets: an hour for a day, 6 h for a week, a day for a month', () => {
    expect(bucketSizeFor(DAY)).toBe(HOUR);
    expect(bucketSizeFor(7 * DAY)).toBe(6 * HOUR);
    expect(bucketSizeFor(30 * DAY)).toBe(DAY);
    expect(bucketSizeFor(HOUR)).toBe(5 * 60_000);
  });
});

/** A known period: two models, a cache hit, a failover, a client error, an upstream failure, an abort. */
function knownRows() {
  const since = NOW - DAY;
  const a = 'openai,gpt-fake';
  const b = 'anthropic,claude-fake';
  return [
    ...[100, 200, 300, 400].map((durationMs, i) =>
      historyRow({
        ts: since + i * HOUR,
        target: a,
        durationMs,
        ttfbMs: durationMs / 2,
        inputTokens: 10,
        outputTokens: 20,
      }),
    ),
    historyRow({
      ts: since + 5 * HOUR,
      target: a,
      cache: 'HIT',
      durationMs: 5,
      ttfbMs: 2,
      attempts: 0,
      inputTokens: 10,
      outputTokens: 20,
    }),
    historyRow({
      ts: since + 6 * HOUR,
      target: b,
      failovers: 1,
      attempts: 2,
      durationMs: 900,
      ttfbMs: 450,
      cacheReadTokens: 1000,
      cacheCreationTokens: 50,
      inputTokens: 5,
      outputTokens: 7,
    }),
    historyRow({
      ts: since + 7 * HOUR,
      target: b,
      status: 502,
      errorType: 'api_error',
      errorSource: 'upstream',
      durationMs: 50,
      inputTokens: null,
      outputTokens: null,
    }),
    historyRow({
      ts: since + 8 * HOUR,
      target: null,
      clientModel: 'bad-model',
      scenario: null,
      status: 400,
      errorType: 'invalid_request_error',
      errorSource: 'client',
      cache: null,
      attempts: 0,
      inputTokens: null,
      outputTokens: null,
    }),
    historyRow({
      ts: since + 9 * HOUR,
      target: a,
      errorType: 'client_abort',
      errorSource: 'client',
      status: 200,
      cache: 'BYPASS',
    }),
    historyRow({ ts: since - 1, target: a }), // outside the period
  ];
}

describe('buildReport', () => {
  const report = buildReport(knownRows(), NOW - DAY, NOW, '/tmp/h.db', new Date(NOW));

  it('summarises the period: counts, rates, latency of answers without error, tokens', () => {
    expect(report.summary).toEqual({
      requests: 9,
      succeeded: 6,
      errors: 2,
      errorRate: 2 / 9,
      failures: 1,
      failureRate: 1 / 9,
      availability: 1 - 1 / 9,
      clientErrors: 1,
      aborts: 1,
      cacheHits: 1,
      cacheMisses: 6,
      cacheHitRate: 1 / 7,
      failovers: 1,
      requestsWithFailover: 1,
      dedupFollowers: 0,
      streamed: 9,
      attempts: 1 * 4 + 0 + 2 + 1 + 0 + 1,
      latencyMs: { p50: 200, p95: 900, p99: 900 },
      ttfbMs: { p50: 100, p95: 450, p99: 450 },
      tokens: {
        input: 4 * 10 + 10 + 5 + 10,
        output: 4 * 20 + 20 + 7 + 20,
        cacheRead: 1000,
        cacheCreation: 50,
        total: 65 + 127 + 1050,
      },
    });
    expect(report.period).toEqual({ since: '2025-06-09T12:00:00.000Z', until: '2025-06-10T12:00:00.000Z' });
  });

  it('per model, most requests first; unrouted requests under the client model', () => {
    expect(report.models.map((m) => [m.model, m.requests])).toEqual([
      ['openai,gpt-fake', 6],
      ['anthropic,claude-fake', 2],
      ['bad-model', 1],
    ]);
    const a = report.models[0];
    expect(a).toMatchObject({
      errors: 0,
      errorRate: 0,
      cacheHits: 1,
      cacheMisses: 4,
      cacheHitRate: 0.2,
      latencyMs: { p50: 200, p95: 400, p99: 400 },
    });
    expect(a.tokens).toEqual({ input: 60, output: 120, cacheRead: 0, cacheCreation: 0, total: 180 }); // the abort's usage counts
    expect(report.models[1]).toMatchObject({
      failures: 1,
      failureRate: 0.5,
      failovers: 1,
      latencyMs: { p50: 900, p95: 900, p99: 900 },
    });
  });

  it('errors by type and source, scenarios, and an hourly timeline', () => {
    expect(report.errors).toEqual([
      { errorType: 'api_error', errorSource: 'upstream', count: 1 },
      { errorType: 'client_abort', errorSource: 'client', count: 1 },
      { errorType: 'invalid_request_error', errorSource: 'client', count: 1 },
    ]);
    expect(report.scenarios).toEqual([
      { scenario: 'default', requests: 8 },
      { scenario: '(none)', requests: 1 },
    ]);
    expect(report.timeline.bucketMs).toBe(HOUR);
    expect(report.timeline.buckets).toHaveLength(24);
    expect(report.timeline.buckets[0]).toEqual({
      start: '2025-06-09T12:00:00.000Z',
      requests: 1,
      errors: 0,
      failures: 0,
      p95Ms: 100,
    });
    expect(report.timeline.buckets[7]).toMatchObject({ requests: 1, errors: 1, failures: 1, p95Ms: null });
    expect(report.timeline.buckets.reduce((n, b) => n + b.requests, 0)).toBe(9);
  });

  it('an empty period has zero counts and null rates', () => {
    const empty = buildReport([], NOW - DAY, NOW, 'x');
    expect(empty.summary).toMatchObject({
      requests: 0,
      errorRate: null,
      cacheHitRate: null,
      availability: null,
    });
    expect(empty.models).toEqual([]);
    expect(renderText(empty)).toContain('No requests in this period.');
    expect(renderHtml(empty)).toContain('no data');
  });

  it('text: a summary and aligned tables', () => {
    const text = renderText(report);
    expect(text).toContain('Requests      9 (9 streamed, 8 upstream attempts)');
    expect(text).toContain('Errors        2 (22.22%): failures 1 (11.11%), client errors 1; aborts 1');
    expect(text).toContain('Availability  88.889%');
    expect(text).toContain('Latency       p50 200 ms · p95 900 ms · p99 900 ms');
    expect(text).toContain('Cache         hit rate 14.3% (1 hits, 6 misses)');
    expect(text).toContain('Failovers     1 (in 1 requests)');
    const lines = text.split('\n');
    const header = lines.find((l) => l.startsWith('model'));
    const row = lines.find((l) => l.startsWith('openai,gpt-fake'));
    expect(header).toBeDefined();
    expect(row).toMatch(
      /^openai,gpt-fake\s+6\s+0\s+0\.0%\s+200 ms\s+400 ms\s+400 ms\s+20\.0%\s+0\s+60\s+120$/,
    );
    expect(header!.length).toBe(row!.length);
  });

  it('table() pads every column to its widest cell', () => {
    expect(
      table(
        ['a', 'bb'],
        [
          ['xxx', '1'],
          ['y', '22'],
        ],
      ),
    ).toBe('a    bb\n---  --\nxxx   1\ny    22');
  });

  it('html: self-contained (no external resource), seven SVG charts with the data, the JSON embedded', () => {
    const html = renderHtml(report);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(
      /<link|<script[^>]+src=|<img|url\(|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg)/,
    );
    const ids = [...html.matchAll(/<figure class="chart" id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids).toEqual([
      'chart-requests',
      'chart-latency-time',
      'chart-latency-models',
      'chart-top-models',
      'chart-error-rate',
      'chart-cache',
      'chart-tokens',
    ]);
    expect(html.match(/<svg /g)).toHaveLength(7);
    // Bars carry the exact values as tooltips.
    expect(html).toContain('<title>openai,gpt-fake · p95: 400 ms</title>');
    expect(html).toContain('<title>anthropic,claude-fake · requests: 2</title>');
    expect(html).toContain('<title>anthropic,claude-fake · cache read: 1,000</title>');
    const json = /<script type="application\/json" id="report-data">(.*)<\/script>/s.exec(html)?.[1];
    expect(JSON.parse(json!)).toEqual(JSON.parse(JSON.stringify(report)));
  });

  it('html escapes what came from requests', () => {
    const evil = buildReport(
      [
        historyRow({
          ts: NOW - 10,
          target: 'p,<script>alert(1)</script>',
          errorType: '</script><b>',
          errorSource: 'upstream',
        }),
      ],
      NOW - DAY,
      NOW,
      'x',
    );
    const html = renderHtml(evil);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('</script><b>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('niceMax picks a round axis maximum', () => {
    expect([0, 0.3, 1, 7, 12, 230, 999].map(niceMax)).toEqual([1, 0.5, 1, 10, 20, 250, 1000]);
  });
});
