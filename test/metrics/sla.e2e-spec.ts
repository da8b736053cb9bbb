import Anthropic from '@anthropic-ai/sdk';
import type { SlaReport, SlaWindowReport } from '../../src/metrics/sla.types';
import { eventually, startGateway, type GatewayUnderTest } from '../support/gateway';
import { messages, post, scrape, unique } from './support';

const KEY = 'sla-test-key';
const auth = { 'x-api-key': KEY };

/**
 * `/api/sla` after traffic whose outcome is known: 8 answers whose first byte takes ~150 ms, 2 upstream
 * failures, 3 client errors and a client abort. Availability, percentiles and budget burn follow from it.
 */
describe('GET /api/sla', () => {
  let gw: GatewayUnderTest;

  beforeAll(async () => {
    gw = await startGateway({
      config: {
        APIKEY: KEY,
        Failover: { health: { enabled: false } },
        Metrics: { sla: { availability: 0.99, p95Ms: 400 } },
      },
    });
    const client = new Anthropic({ baseURL: gw.url, apiKey: KEY, maxRetries: 0 });
    for (let i = 0; i < 8; i++) {
      const stream = await client.messages.create({
        model: 'claude-sonnet-4',
        max_tokens: 64,
        messages: [{ role: 'user', content: unique('sla ok', { firstByteDelayMs: 150 }) }],
        stream: true,
      });
      for await (const _ of stream) {
        // drain
      }
    }
    for (let i = 0; i < 2; i++) {
      const failed = await post(
        gw,
        '/v1/messages',
        messages(unique('sla 503', { fault: { type: 'status', status: 503 } })),
        auth,
      );
      expect(failed.status).toBe(503);
    }
    for (let i = 0; i < 3; i++) {
      expect((await post(gw, '/v1/messages', { model: 'x', messages: [] }, auth)).status).toBe(400);
    }
    const controller = new AbortController();
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify(
        messages(unique('sla abort', { chunkCount: 40, chunkGapMs: 50 }), { stream: true }),
      ),
      signal: controller.signal,
    });
    await (res.body as ReadableStream<Uint8Array>).getReader().read();
    controller.abort();
    await eventually(async () => (await sla()).windows['5m'].excluded === 4);
  });
  afterAll(() => gw.stop());

  const sla = async (): Promise<any> => {
    const res = await fetch(`${gw.url}/api/sla`, { headers: auth });
    expect(res.status).toBe(200);
    return res.json();
  };

  it('is behind the API key like every /api route; /metrics stays public', async () => {
    expect((await fetch(`${gw.url}/api/sla`)).status).toBe(401);
    expect((await fetch(`${gw.url}/api/sla`, { headers: { 'x-api-key': 'wrong' } })).status).toBe(401);
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(200);
  });

  it('in-memory windows: availability without client errors and aborts, TTFB percentiles, budget burn', async () => {
    const report = await sla();
    expect(report.targets).toEqual({ availability: 0.99, p95Ms: 400 });
    expect(report.latency).toBe('ttfb');
    for (const w of ['5m', '1h', '24h']) {
      const r = report.windows[w];
      expect(r).toMatchObject({
        window: w,
        source: 'memory',
        total: 10,
        failed: 2,
        excluded: 4,
        availability: 0.8,
        errorBudget: { burnRate: 20, remaining: -19 }, // 20 % failing against a 1 % budget
        latencyBudget: { slow: 0, burnRate: 0 },
        met: { availability: false, p95: true },
      });
      // First bytes took the fake's 150 ms plus the gateway's share; the sketch reads within 5 %.
      expect(r.latencyMs.p50).toBeGreaterThanOrEqual(140);
      expect(r.latencyMs.p95).toBeLessThan(400);
      expect(r.latencyMs.p99).toBeGreaterThanOrEqual(r.latencyMs.p95);
    }
  });

  it('the gauges on /metrics carry the same numbers', async () => {
    const s = await scrape(gw);
    const report = await sla();
    for (const w of ['5m', '1h', '24h']) {
      expect(s.sum('switchyard_sla_availability_ratio', { window: w })).toBe(0.8);
      expect(s.sum('switchyard_sla_error_budget_burn_rate', { window: w })).toBe(20);
      expect(s.sum('switchyard_sla_latency_seconds', { window: w, percentile: '95' }) * 1000).toBeCloseTo(
        report.windows[w].latencyMs.p95,
        0,
      );
    }
    expect(s.sum('switchyard_sla_availability_target_ratio')).toBe(0.99);
    expect(s.sum('switchyard_sla_latency_target_seconds')).toBe(0.4);
    expect(s.sum('switchyard_requests_total', { outcome: 'success' })).toBe(8);
    expect(s.sum('switchyard_requests_total', { outcome: 'upstream_error' })).toBe(2);
    expect(s.sum('switchyard_requests_total', { outcome: 'client_error' })).toBe(3);
    expect(s.sum('switchyard_requests_total', { outcome: 'client_abort' })).toBe(1);
  });
});

/**
 * The 30-day window is read from the request history (SQLite, `SLA_HISTORY_SOURCE`). Traffic without client
 * errors and with JSON answers only: there the history's rows and the in-memory windows must agree exactly.
 */
describe('GET /api/sla: the 30-day window', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway({ config: { Failover: { health: { enabled: false } } } });
  });
  afterAll(() => gw.stop());

  it('comes from the request history once its rows are written, with the same numbers as memory', async () => {
    for (let i = 0; i < 3; i++) {
      expect(
        (await post(gw, '/v1/messages', messages(unique('month ok', { firstByteDelayMs: 100 })))).status,
      ).toBe(200);
    }
    expect(
      (
        await post(
          gw,
          '/v1/messages',
          messages(unique('month 503', { fault: { type: 'status', status: 503 } })),
        )
      ).status,
    ).toBe(503);
    await eventually(async () => {
      const res = await fetch(`${gw.url}/api/history/stats`);
      return res.status === 200 && ((await res.json()) as { written: number }).written >= 4;
    }, 10_000);
    const report = (await (await fetch(`${gw.url}/api/sla`)).json()) as SlaReport;
    const month = report.windows['30d'] as SlaWindowReport;
    const memory = report.windows['24h'] as SlaWindowReport;
    expect(memory).toMatchObject({ total: 4, failed: 1, availability: 0.75 });
    expect(month).toMatchObject({
      window: '30d',
      source: 'history',
      total: 4,
      failed: 1,
      excluded: null,
      availability: 0.75,
      errorBudget: { burnRate: 250, remaining: -249 },
      met: { availability: false, p95: true },
    });
    // Exact in SQLite, ±5 % in the memory sketch.
    expect(month.latencyMs.p50).toBeGreaterThanOrEqual(100);
    const [exact, sketched] = [Number(month.latencyMs.p95), Number(memory.latencyMs.p95)];
    expect(Math.abs(exact - sketched) / exact).toBeLessThan(0.06);
    const s = await scrape(gw);
    expect(s.sum('switchyard_sla_availability_ratio', { window: '30d' })).toBe(0.75);
  });
});
