import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { chromium, type Browser, type Page, type Response } from 'playwright-core';
import { startFakeProvider, type FakeProvider } from '../fake-provider';
import { DEFAULT_ROUTER, eventually, fakeProviders } from '../support/gateway';
import { freePort } from '../support/redis-server';
import { startTestApp, type TestApp } from '../support/test-app';

// What the in-page functions below touch (the tests' TypeScript has no DOM library).
declare const document: { body: { getAttribute(name: string): string | null } };
declare const sessionStorage: { setItem(key: string, value: string): void };

/** In-page: the page finished at least `n` refreshes (a function, not a string: the page's CSP forbids eval). */
const refreshedAtLeast = (n: number): boolean => Number(document.body.getAttribute('data-refreshes')) >= n;

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const KEY = 'dash-key-1';
const ARTIFACTS = resolve(__dirname, '..', '..', 'test-artifacts');
/** The API routes the page reads; their latest bodies are what the page must show. */
const API = ['/api/providers', '/api/stats', '/api/queue', '/api/sla', '/api/failovers'] as const;

// The page's formats (src/dashboard/dashboard-client.ts).
const pct = (v: number | null | undefined): string =>
  typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : '—';
const ms = (v: number | null | undefined): string => (typeof v === 'number' ? `${Math.round(v)} ms` : '—');
const score = (v: number): string => v.toFixed(2);

/**
 * The status page in a real headless Chromium against a gateway with live traffic from the official SDKs:
 * a failover (the routed target's port is closed), a cache hit, coalesced duplicates, Redis-backed modes.
 */
describe('status page (/dashboard) in headless Chromium', () => {
  let fake: FakeProvider;
  let gw: TestApp;
  let browser: Browser;

  const api = async (path: string): Promise<any> => {
    const res = await fetch(`${gw.url}${path}`, { headers: { 'x-api-key': KEY } });
    return res.json();
  };

  beforeAll(async () => {
    fake = await startFakeProvider();
    const deadPort = await freePort();
    gw = await startTestApp({
      userConfig: {
        APIKEY: KEY,
        Providers: [
          ...fakeProviders(fake.url),
          {
            name: 'down',
            api_base_url: `http://127.0.0.1:${deadPort}/v1/chat/completions`,
            api_key: 'sk-down',
            models: ['m1'],
          },
        ],
        Router: { ...DEFAULT_ROUTER, default: ['down,m1', 'openai,gpt-fake'] },
        Redis: {
          enabled: true,
          url: process.env.TEST_REDIS_URL,
          keyPrefix: `td${randomUUID().slice(0, 8)}:`,
        },
        Failover: { health: { enabled: false } },
      },
      logLevel: 'info', // access lines too: a key in the URL must not reach them
    });
    await eventually(async () => (await api('/api/stats')).modes.cache === 'redis', 10_000);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await fake?.close();
  });

  /** Live traffic: four failovers, a cache hit, and two identical requests at once (one leader, one follower). */
  async function traffic(): Promise<void> {
    const anthropic = new Anthropic({ baseURL: gw.url, apiKey: KEY, maxRetries: 0 });
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const ask = (content: string) =>
      anthropic.messages.create({
        model: 'claude-any',
        max_tokens: 32,
        messages: [{ role: 'user', content }],
      });
    const first = await ask(`dashboard ${randomUUID()}`);
    expect(first.content[0]).toMatchObject({ text: 'Hello from fake provider' });
    const prompt = `cached ${randomUUID()}`;
    await ask(prompt);
    const { response } = await anthropic.messages
      .create({ model: 'x', max_tokens: 32, messages: [{ role: 'user', content: prompt }] })
      .withResponse();
    expect(response.headers.get('x-switchyard-cache')).toBe('HIT');
    const stream = await openai.chat.completions.create({
      model: 'any',
      stream: true,
      messages: [{ role: 'user', content: `streamed ${randomUUID()}` }],
    });
    for await (const _chunk of stream) {
      // drained
    }
    const slow = `coalesced ${randomUUID()} [[fake:${JSON.stringify({ firstByteDelayMs: 300 })}]]`;
    const both = await Promise.all([0, 1].map(() => ask(slow).withResponse()));
    expect(both.map((r) => r.response.headers.get('x-switchyard-dedup')).sort()).toEqual([
      'follower',
      'leader',
    ]);
  }

  /** Records the JSON of every API response the page receives (latest per route). */
  function watch(page: Page): {
    latest: Map<string, { status: number; body: any }>;
    settled: () => Promise<void>;
  } {
    const latest = new Map<string, { status: number; body: any }>();
    const pending: Promise<void>[] = [];
    page.on('response', (res: Response) => {
      const path = new URL(res.url()).pathname;
      if ((API as readonly string[]).includes(path)) {
        pending.push(
          res
            .json()
            .then((body) => void latest.set(path, { status: res.status(), body }))
            .catch(() => undefined),
        );
      }
    });
    return { latest, settled: async () => void (await Promise.all(pending)) };
  }

  const refreshes = async (page: Page): Promise<number> =>
    Number(await page.getAttribute('body', 'data-refreshes'));
  const text = async (page: Page, selector: string): Promise<string> =>
    (await page.textContent(selector))?.trim() ?? '';

  it('asks for the API key, then shows the numbers of the API, refreshes by itself, and is screenshot', async () => {
    await traffic();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const outside: string[] = [];
    page.on('request', (req) => {
      if (!req.url().startsWith(gw.url)) {
        outside.push(req.url());
      }
    });
    const seen = watch(page);

    // The HTML is public; the data is not: without a key the page shows its form.
    const html = await page.goto(`${gw.url}/dashboard?refresh=60000`);
    expect(html?.status()).toBe(200);
    expect(html?.headers()['content-security-policy']).toContain("script-src 'nonce-");
    await page.waitForSelector('#login:not([hidden])');
    expect(await text(page, '#login-message')).toBe('This gateway needs its API key.');
    expect(await page.isVisible('#content')).toBe(false);
    expect((await fetch(`${gw.url}/api/failovers`)).status).toBe(401);

    await page.fill('#key', KEY);
    await page.click('#login input[type=submit]');
    await page.waitForSelector('#content:not([hidden])');
    await page.waitForFunction(refreshedAtLeast, 1);
    expect(page.url()).toBe(`${gw.url}/dashboard?refresh=60000`); // the key never lands in the URL
    expect(await page.isVisible('#login')).toBe(false);

    // One more refresh, traffic over: the page shows exactly what the API answered it.
    const before = await refreshes(page);
    await page.click('#refresh-now');
    await page.waitForFunction(refreshedAtLeast, before + 1);
    await seen.settled();
    const got = (path: (typeof API)[number]) => seen.latest.get(path)?.body;

    // Providers: score, circuit, TTFB per target.
    const providers = got('/api/providers');
    expect(providers.targets.length).toBeGreaterThanOrEqual(6);
    for (const t of providers.targets) {
      const row = `#providers-body tr[data-target="${t.target}"]`;
      expect(await text(page, `${row} [data-field=score]`)).toBe(score(t.score));
      expect(await text(page, `${row} [data-field=circuit]`)).toContain(t.circuit.state);
      expect(await text(page, `${row} [data-field=ttfb-p50]`)).toBe(ms(t.ttfb.p50));
      expect(await text(page, `${row} [data-field=ttfb-p95]`)).toBe(ms(t.ttfb.p95));
      expect(await text(page, `${row} [data-field=success]`)).toBe(pct(t.stats.successRate));
    }
    const served = providers.targets.find((t: any) => t.target === 'openai,gpt-fake');
    expect(served.ttfb.samples).toBeGreaterThan(0);
    expect(
      await text(page, '#providers-body tr[data-target="openai,gpt-fake"] [data-field=ttfb-p50]'),
    ).toMatch(/^\d+ ms$/);
    const down = providers.targets.find((t: any) => t.target === 'down,m1');
    expect(down.stats.lastError).not.toBeNull();

    // Cache and dedup: the same numbers as a fresh look at the API (nothing moves once traffic stopped).
    const stats = await api('/api/stats');
    expect(got('/api/stats').cache).toMatchObject({ hits: stats.cache.hits, misses: stats.cache.misses });
    expect(stats.cache.hits).toBeGreaterThanOrEqual(1);
    expect(await text(page, '#cache-hit-rate')).toBe(pct(stats.cache.hitRate));
    expect(await text(page, '#cache-hits')).toBe(String(stats.cache.hits));
    expect(await text(page, '#cache-misses')).toBe(String(stats.cache.misses));
    expect(await text(page, '#cache-stores')).toBe(String(stats.cache.stores));
    expect(stats.dedup.followers).toBeGreaterThanOrEqual(1);
    expect(await text(page, '#dedup-followers')).toBe(String(stats.dedup.followers));
    expect(await text(page, '#dedup-leaders')).toBe(String(stats.dedup.leaders));
    expect(await text(page, '#dedup-savings')).toBe(
      pct(stats.dedup.followers / (stats.dedup.leaders + stats.dedup.followers)),
    );

    // Degraded modes: every subsystem on Redis here.
    for (const [subsystem, mode] of Object.entries(stats.modes as Record<string, string>)) {
      expect(await text(page, `#modes-body tr[data-subsystem="${subsystem}"] [data-field=mode]`)).toBe(
        mode === 'local' ? 'degraded (local)' : mode,
      );
    }
    expect(await text(page, '#modes-summary')).toBe('none degraded');

    // Queues: idle now.
    const queue = await api('/api/queue');
    for (const cls of ['interactive', 'batch', 'background']) {
      expect(await text(page, `#queue-body tr[data-class="${cls}"] [data-field=waiting]`)).toBe(
        String(queue.depth[cls].local_waiting),
      );
      expect(await text(page, `#queue-body tr[data-class="${cls}"] [data-field=running]`)).toBe(
        String(queue.depth[cls].local_running),
      );
    }

    // Recent failovers: the four upstream calls routed to the closed port moved on to the fake (the cache
    // hit and the coalesced follower made none).
    const failovers = await api('/api/failovers');
    expect(failovers.total).toBe(4);
    expect(failovers.events).toHaveLength(4);
    expect(failovers.events[0]).toMatchObject({ from: 'down,m1', to: 'openai,gpt-fake', reason: 'connect' });
    expect(await text(page, '#failovers-total')).toBe('4');
    const rows = await page.$$eval('#failovers-body tr', (trs) =>
      trs.map((tr) =>
        ['from', 'to', 'reason'].map((f) => tr.querySelector(`[data-field=${f}]`)?.textContent),
      ),
    );
    expect(rows).toEqual(failovers.events.map((e: any) => [e.from, e.to, e.reason]));

    // SLA: the report's windows when the gateway has one, else a plain note.
    const sla = seen.latest.get('/api/sla');
    if (sla?.status === 200) {
      for (const [name, w] of Object.entries(sla.body.windows as Record<string, any>)) {
        const row = `#sla-body tr[data-window="${name}"]`;
        if (!w) {
          expect(await text(page, `${row} [data-field=total]`)).toBe('no data');
          continue;
        }
        expect(await text(page, `${row} [data-field=total]`)).toBe(String(w.total));
        expect(await text(page, `${row} [data-field=availability]`)).toBe(pct(w.availability));
        expect(await text(page, `${row} [data-field=p95]`)).toBe(ms(w.latencyMs.p95));
      }
      expect(sla.body.windows['5m'].total).toBeGreaterThanOrEqual(5);
    } else {
      expect(await text(page, '#sla-note')).toBe('SLA tracking is not available on this gateway');
    }
    expect(await text(page, '#ready')).toBe('ready');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(outside).toEqual([]); // self-contained: no CDN, no font, nothing but the gateway
    await page.close();
  });

  it('takes the key from ?key= (then drops it from the address bar) and refreshes every few seconds', async () => {
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') {
        consoleErrors.push(msg.text());
      }
    });
    await page.goto(`${gw.url}/dashboard?key=${KEY}&refresh=1000`);
    await page.waitForSelector('#content:not([hidden])');
    expect(new URL(page.url()).search).toBe('?refresh=1000');
    await eventually(() =>
      gw.logs.records.some((r) => (r.req as { url?: string } | undefined)?.url?.startsWith('/dashboard?')),
    );
    expect(gw.logs.records.map((r) => (r.req as { url?: string } | undefined)?.url)).toContain(
      '/dashboard?key=[redacted]&refresh=1000',
    );
    expect(gw.logs.text).not.toContain(KEY);
    await page.waitForFunction(refreshedAtLeast, 3, { timeout: 10_000 });
    // With a good key the console stays clean: no 404 for a /favicon.ico the page does not name.
    expect(consoleErrors).toEqual([]);
    expect(gw.logs.records.map((r) => (r.req as { url?: string } | undefined)?.url)).not.toContain('/favicon.ico');
    // A refused key brings the form back.
    await page.evaluate(() => sessionStorage.setItem('switchyard.apiKey', 'wrong'));
    await page.click('#refresh-now');
    await page.waitForSelector('#login:not([hidden])');
    expect(await text(page, '#login-message')).toBe('That API key was refused.');
    await page.close();
  });
});
