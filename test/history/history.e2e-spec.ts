import Anthropic from '@anthropic-ai/sdk';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { HistoryDb } from '../../src/history/history-db';
import { historyRow } from '../../src/history/history.test-helpers';
import type { HistoryReport } from '../../src/history/report/report.types';
import { SLA_HISTORY_SOURCE, type SlaHistorySource } from '../../src/metrics/sla.types';
import { eventually } from '../support/gateway';
import {
  API_KEY,
  getJson,
  historyStats,
  readRows,
  rowOf,
  startHistoryGateway,
  tempDir,
  type HistoryGateway,
} from './support';

const ROOT = resolve(__dirname, '..', '..');
const run = promisify(execFile);

/** Real traffic through the official Anthropic SDK; the rows are read back from the SQLite file. */
describe('request history: one row per request', () => {
  let dir: string;
  let path: string;
  let gw: HistoryGateway;
  let client: Anthropic;

  beforeAll(async () => {
    dir = tempDir();
    path = join(dir, 'history.db');
    gw = await startHistoryGateway({ path });
    client = new Anthropic({ baseURL: gw.url, apiKey: API_KEY, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const prompt = (text = ''): string => `history ${randomUUID()} ${text}`;

  it('a JSON answer: route, scenario, target, status, timings and tokens by type', async () => {
    const started = Date.now();
    const { response } = await client.messages
      .create({
        model: 'anthropic,claude-fake',
        max_tokens: 64,
        messages: [
          { role: 'user', content: prompt('[[fake:{"usage":{"input":12,"output":34,"cacheRead":5}}]]') },
        ],
      })
      .withResponse();
    const id = response.headers.get('x-request-id') as string;
    const row = await rowOf(path, id);
    expect(row).toMatchObject({
      requestId: id,
      route: 'messages',
      scenario: 'explicit',
      target: 'anthropic,claude-fake',
      clientModel: 'anthropic,claude-fake',
      status: 200,
      stream: false,
      cache: 'MISS',
      attempts: 1,
      failovers: 0,
      inputTokens: 12,
      outputTokens: 34,
      cacheReadTokens: 5,
      errorType: null,
      errorSource: null,
    });
    expect(row.ts).toBeGreaterThanOrEqual(started - 5);
    expect(row.ts).toBeLessThanOrEqual(Date.now());
    expect(row.durationMs).toBeGreaterThan(0);
    expect(row.ttfbMs).toBe(row.durationMs); // a JSON answer's first byte is its whole body
    expect(row.upstreamMs).toBeGreaterThan(0);
    expect(row.durationMs).toBeGreaterThanOrEqual(row.upstreamMs as number);
  });

  it('a streamed answer: stream flag and a first byte before the end', async () => {
    const { data: stream, response } = await client.messages
      .create({
        model: 'claude-sonnet-4',
        max_tokens: 64,
        stream: true,
        messages: [{ role: 'user', content: prompt('[[fake:{"chunkCount":4,"chunkGapMs":30}]]') }],
      })
      .withResponse();
    for await (const _event of stream) {
      // drain
    }
    const id = response.headers.get('x-request-id') as string;
    const row = await rowOf(path, id);
    expect(row).toMatchObject({
      route: 'messages',
      scenario: 'default',
      target: 'openai,gpt-fake',
      clientModel: 'claude-sonnet-4',
      status: 200,
      stream: true,
      attempts: 1,
      inputTokens: 10,
      outputTokens: 20,
    });
    expect(row.ttfbMs).not.toBeNull();
    expect(row.durationMs - (row.ttfbMs as number)).toBeGreaterThanOrEqual(60); // three 30 ms gaps after the first byte
  });

  it("a cache hit: cache HIT, no upstream attempt, the answer's usage", async () => {
    const text = prompt();
    const ask = () =>
      client.messages
        .create({ model: 'claude-sonnet-4', max_tokens: 64, messages: [{ role: 'user', content: text }] })
        .withResponse();
    await ask();
    let hitId = '';
    await eventually(async () => {
      const { response } = await ask();
      hitId = response.headers.get('x-request-id') as string;
      return response.headers.get('x-switchyard-cache') === 'HIT';
    });
    const row = await rowOf(path, hitId);
    expect(row).toMatchObject({
      status: 200,
      cache: 'HIT',
      attempts: 0,
      failovers: 0,
      target: 'openai,gpt-fake',
      inputTokens: 10,
      outputTokens: 20,
      errorType: null,
    });
    expect(row.upstreamMs).toBeNull();
  });

  it('a failover: the failing target is counted, the fallback served', async () => {
    const before = gw.down.count();
    const { response } = await client.messages
      .create({ model: 'down,m1', max_tokens: 64, messages: [{ role: 'user', content: prompt() }] })
      .withResponse();
    expect(gw.down.count()).toBeGreaterThan(before);
    const row = await rowOf(path, response.headers.get('x-request-id') as string);
    expect(row).toMatchObject({
      status: 200,
      target: 'openai,gpt-fake',
      attempts: 2,
      failovers: 1,
      errorType: null,
    });
  });

  it("failures: an upstream 5xx is the upstream's, a bad request the client's", async () => {
    const failed: unknown = await client.messages
      .create({
        model: 'openai,gpt-fake',
        max_tokens: 64,
        messages: [{ role: 'user', content: prompt('[[fake:{"fault":{"type":"status","status":500}}]]') }],
      })
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(Anthropic.APIError);
    const headers = (failed as InstanceType<typeof Anthropic.APIError>).headers;
    const upstream = await rowOf(path, headers?.get('x-request-id') as string);
    expect(upstream.status).toBeGreaterThanOrEqual(500);
    expect(upstream).toMatchObject({ errorSource: 'upstream', target: 'openai,gpt-fake' });
    expect(upstream.errorType).toEqual(expect.any(String));

    const bad = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: JSON.stringify({ model: 'claude-sonnet-4', messages: 'not a list' }),
    });
    expect(bad.status).toBe(400);
    const client400 = await rowOf(path, bad.headers.get('x-request-id') as string);
    expect(client400).toMatchObject({
      status: 400,
      errorSource: 'client',
      errorType: 'invalid_request_error',
      attempts: 0,
    });
  });

  it('GET /api/history/stats: behind the API key; counts what was written', async () => {
    expect((await getJson(gw, '/api/history/stats', null)).status).toBe(401);
    await eventually(async () => (await historyStats(gw)).queued === 0);
    const stats = await historyStats(gw);
    expect(stats).toMatchObject({
      enabled: true,
      path,
      state: 'ok',
      dropped: 0,
      writeErrors: 0,
      lastError: null,
    });
    expect(stats.written).toBe(readRows(path).length);
    expect(stats.accepted).toBe(stats.written);
  });

  it('/health/ready reports the history as a non-fatal detail', async () => {
    const ready = await getJson(gw, '/health/ready', null);
    expect(ready.status).toBe(200);
    expect(ready.body.details.history).toMatchObject({ status: 'up', state: 'ok', dropped: 0 });
  });

  it('the 30-day SLA window (SLA_HISTORY_SOURCE, /api/sla) is read from the same rows', async () => {
    await eventually(async () => (await historyStats(gw)).queued === 0);
    const rows = readRows(path);
    const counted = rows.filter((r) => r.errorSource !== 'client' && r.errorType !== 'client_abort');
    const sla = gw.app.get<SlaHistorySource>(SLA_HISTORY_SOURCE);
    const window = await sla.window30d(Date.now() + 1000);
    expect(window).toMatchObject({
      total: counted.length,
      failed: rows.filter((r) => r.errorSource === 'upstream' || r.errorSource === 'gateway').length,
    });
    expect(window!.p50).toBeGreaterThan(0);
    expect(window!.p99).toBeGreaterThanOrEqual(window!.p95);
    // And /api/sla reports it as its 30-day window.
    const { body } = await getJson(gw, '/api/sla');
    expect(body.windows['30d']).toMatchObject({
      source: 'history',
      total: window!.total,
      failed: window!.failed,
    });
  });

  it('`switchyard report` over the live database gives the same counts', async () => {
    await eventually(async () => (await historyStats(gw)).queued === 0);
    const rows = readRows(path);
    const { stdout } = await run(
      'npx',
      ['tsx', 'src/cli/switchyard.ts', 'report', '--db', path, '--format', 'json', '--since', '1h'],
      {
        cwd: ROOT,
      },
    );
    const report = JSON.parse(stdout) as HistoryReport;
    expect(report.summary.requests).toBe(rows.length);
    expect(report.summary.cacheHits).toBe(rows.filter((r) => r.cache === 'HIT').length);
    expect(report.summary.failovers).toBe(rows.reduce((n, r) => n + r.failovers, 0));
    expect(report.models.map((m) => m.model)).toContain('anthropic,claude-fake');
  });
});

describe('request history at boot: timeout seeding and retention', () => {
  it('seeds the adaptive first-byte deadline from stored rows and prunes rows past retentionDays', async () => {
    const dir = tempDir();
    const path = join(dir, 'history.db');
    const now = Date.now();
    const db = HistoryDb.open(path);
    db.insert([
      ...Array.from({ length: 30 }, (_, i) =>
        historyRow({ ts: now - 60_000 + i, target: 'gemini,gemini-fake', ttfbMs: 200 + i, queueWaitMs: 0 }),
      ),
      ...Array.from({ length: 3 }, (_, i) => historyRow({ ts: now - 40 * 86_400_000 + i })),
    ]);
    db.close();
    const gw = await startHistoryGateway({ path, retentionDays: 30 });
    try {
      await eventually(async () => {
        const { body } = await getJson<{ targets: { target: string; ttfb: { samples: number } }[] }>(
          gw,
          '/api/timeouts',
        );
        return body.targets.some((t) => t.target === 'gemini,gemini-fake' && t.ttfb.samples === 30);
      });
      const { body } = await getJson(gw, '/api/timeouts');
      const gemini = body.targets.find((t: { target: string }) => t.target === 'gemini,gemini-fake');
      // 30 ≥ minSamples (20): the deadline is learned, from p99 = 229 ms × k = 4, clamped to minMs 1500.
      expect(gemini).toMatchObject({ firstByteSource: 'learned', ttfb: { samples: 30, p50: 214, p99: 229 } });
      await eventually(async () => (await historyStats(gw)).pruned === 3);
      expect(readRows(path)).toHaveLength(30);
    } finally {
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
