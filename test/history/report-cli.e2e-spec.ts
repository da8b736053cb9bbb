import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HistoryDb } from '../../src/history/history-db';
import { historyRow } from '../../src/history/history.test-helpers';
import type { HistoryReport } from '../../src/history/report/report.types';
import { tempDir } from './support';

const ROOT = resolve(__dirname, '..', '..');
const HOUR = 3_600_000;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npx tsx src/cli/switchyard.ts …` as its own process, the way a user runs it. */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((done) => {
    execFile(
      'npx',
      ['tsx', 'src/cli/switchyard.ts', ...args],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) =>
        done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('switchyard report (CLI)', () => {
  let dir: string;
  let db: string;
  const now = Date.now();

  beforeAll(() => {
    dir = tempDir();
    db = join(dir, 'history.db');
    const h = HistoryDb.open(db);
    const a = 'openai,gpt-fake';
    const b = 'anthropic,claude-fake';
    h.insert([
      // a: 10 answers, durations 100..1000 ms; two of them cache hits.
      ...Array.from({ length: 10 }, (_, i) =>
        historyRow({
          ts: now - (i + 1) * HOUR,
          target: a,
          durationMs: (i + 1) * 100,
          ttfbMs: (i + 1) * 10,
          cache: i < 2 ? 'HIT' : 'MISS',
          inputTokens: 100,
          outputTokens: 50,
          cacheReadTokens: 1000,
          cacheCreationTokens: 10,
        }),
      ),
      // b: 3 answers after a failover each, one upstream failure.
      ...[2000, 3000, 4000].map((durationMs, i) =>
        historyRow({
          ts: now - (i + 2) * HOUR,
          target: b,
          durationMs,
          failovers: 1,
          attempts: 2,
          inputTokens: 7,
          outputTokens: 3,
        }),
      ),
      historyRow({
        ts: now - 3 * HOUR,
        target: b,
        status: 503,
        errorType: 'overloaded_error',
        errorSource: 'upstream',
        inputTokens: null,
        outputTokens: null,
        cacheReadTokens: null,
        cacheCreationTokens: null,
      }),
      // Outside the last 24 h: only a 7-day report counts it.
      historyRow({ ts: now - 3 * 24 * HOUR, target: a, durationMs: 5 }),
    ]);
    h.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("--format json: the period's numbers, per model, most requests first", async () => {
    const { code, stdout } = await cli(['report', '--db', db, '--format', 'json', '--since', '24h']);
    expect(code).toBe(0);
    const r = JSON.parse(stdout) as HistoryReport;
    expect(r.source).toBe(db);
    expect(r.summary).toMatchObject({
      requests: 14,
      succeeded: 13,
      errors: 1,
      failures: 1,
      cacheHits: 2,
      cacheMisses: 12,
      failovers: 3,
      requestsWithFailover: 3,
      // 13 answers: 100..1000, 2000, 3000, 4000 → nearest rank 7 / 13 / 13.
      latencyMs: { p50: 700, p95: 4000, p99: 4000 },
      tokens: {
        input: 10 * 100 + 3 * 7,
        output: 10 * 50 + 3 * 3,
        cacheRead: 10_000,
        cacheCreation: 100,
        total: 1021 + 509 + 10_100,
      },
    });
    expect(r.summary.errorRate).toBeCloseTo(1 / 14, 10);
    expect(r.summary.cacheHitRate).toBeCloseTo(2 / 14, 10);
    expect(r.models.map((m) => [m.model, m.requests, m.errors])).toEqual([
      ['openai,gpt-fake', 10, 0],
      ['anthropic,claude-fake', 4, 1],
    ]);
    expect(r.models[0]).toMatchObject({
      latencyMs: { p50: 500, p95: 1000, p99: 1000 },
      ttfbMs: { p50: 50, p95: 100, p99: 100 },
      cacheHitRate: 0.2,
    });
    expect(r.models[1]).toMatchObject({
      failureRate: 0.25,
      failovers: 3,
      latencyMs: { p50: 3000, p95: 4000, p99: 4000 },
    });
    expect(r.errors).toEqual([{ errorType: 'overloaded_error', errorSource: 'upstream', count: 1 }]);
    expect(r.timeline.bucketMs).toBe(HOUR);
  });

  it('--since 7d takes the older row in; --until cuts the recent ones off', async () => {
    const week = JSON.parse(
      (await cli(['report', '--db', db, '--format', 'json', '--since', '7d'])).stdout,
    ) as HistoryReport;
    expect(week.summary.requests).toBe(15);
    const until = new Date(now - 5.5 * HOUR).toISOString();
    const old = JSON.parse(
      (await cli(['report', '--db', db, '--format', 'json', '--since', '7d', '--until', until])).stdout,
    ) as HistoryReport;
    expect(old.summary.requests).toBe(1 + 5); // the 3-day-old row and a's rows 6..10 hours old
    expect(old.period.until).toBe(until);
  });

  it('--format text: a summary and the per-model table', async () => {
    const { code, stdout } = await cli(['report', '--db', db]);
    expect(code).toBe(0);
    expect(stdout).toContain('Requests      14');
    expect(stdout).toContain('Latency       p50 700 ms · p95 4,000 ms · p99 4,000 ms');
    expect(stdout).toMatch(/^openai,gpt-fake\s+10\s+0\s+0\.0%\s+500 ms\s+1,000 ms\s+1,000 ms\s+20\.0%/m);
    expect(stdout).toMatch(/^overloaded_error\s+upstream\s+1$/m);
  });

  it('--format html --out: one self-contained page with the charts', async () => {
    const out = join(dir, 'report.html');
    const { code, stderr } = await cli(['report', '--db', db, '--format', 'html', '--out', out]);
    expect(code).toBe(0);
    expect(stderr).toContain(`wrote html report to ${out}`);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<link|<script[^>]+src=|<img|@import|url\(/);
    expect(html.match(/<figure class="chart" id="chart-[a-z-]+"><figcaption>[^<]+/g)?.length).toBe(7);
    expect(html.match(/<svg [^>]*role="img"/g)).toHaveLength(7);
    expect(html).toContain('<title>anthropic,claude-fake · requests: 4</title>');
    expect(html).toContain('<title>openai,gpt-fake · p95: 1,000 ms</title>');
    expect(html.match(/<rect class="bar"/g)!.length).toBeGreaterThan(20);
  });

  it("without --db: the database of the gateway's configuration", async () => {
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ History: { path: db } }));
    const { code, stdout } = await cli(['report', '--format', 'json'], {
      SWITCHYARD_CONFIG: config,
      HOME: dir,
    });
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as HistoryReport).summary.requests).toBe(14);
  });

  it('errors: a missing database exits 1, a bad command line 2 with the usage', async () => {
    const missing = await cli(['report', '--db', join(dir, 'nope.db')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no history database at');
    const bad = await cli(['report', '--db', db, '--since', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('usage: switchyard report');
    const format = await cli(['report', '--db', db, '--format', 'pdf']);
    expect(format.code).toBe(2);
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command');
  });
});
