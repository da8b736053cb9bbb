import { ProxyAgent } from 'undici';
import { ProviderError } from './provider.types';
import { ConnectProxy, LoopbackServer, sendJson } from './testing/loopback-server';
import { UpstreamClient } from './upstream.client';
import {
  classifyTransportError,
  parseErrorBody,
  parseRetryAfter,
  providerErrorFromResponse,
} from './upstream-errors';

async function rejection(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('expected a rejection');
}

describe('UpstreamClient', () => {
  let server: LoopbackServer;
  let other: LoopbackServer;
  let client: UpstreamClient;

  beforeEach(async () => {
    server = await LoopbackServer.start((req, res) => {
      if (req.url === '/hang') {
        return; // never answers
      }
      if (req.url === '/slow-body') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first');
        return; // body never ends
      }
      sendJson(res, 200, { ok: true, path: req.url });
    });
    other = await LoopbackServer.start((_req, res) => sendJson(res, 200, { other: true }));
    client = new UpstreamClient({ connections: 4 });
  });

  afterEach(async () => {
    await client.destroy();
    await server.close();
    await other.close();
  });

  it('reuses one keep-alive Pool per origin and reports it in stats()', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await client.request({ url: server.url('/a'), method: 'POST', body: '{}' });
      expect(res.statusCode).toBe(200);
      expect(await res.body.json()).toEqual({ ok: true, path: '/a' });
      await new Promise((r) => setTimeout(r, 10)); // let undici mark the socket free again
    }
    expect(server.connections).toBe(1);
    expect(client.dispatcherFor(server.url('/x'))).toBe(client.dispatcherFor(server.url('/y')));
    await (await client.request({ url: other.url('/'), method: 'GET' })).body.dump();
    const stats = client.stats();
    expect(stats.map((s) => s.origin).sort()).toEqual([server.origin, other.origin].sort());
    const mine = stats.find((s) => s.origin === server.origin)!;
    expect(mine).toMatchObject({ connected: 1, free: 1, running: 0, pending: 0, queued: 0, size: 0 });
  });

  it('stats() shows requests in flight', async () => {
    const ac = new AbortController();
    const pending = client.request({ url: server.url('/hang'), signal: ac.signal });
    await new Promise((r) => setTimeout(r, 50));
    expect(client.stats().find((s) => s.origin === server.origin)).toMatchObject({ running: 1, size: 1 });
    ac.abort();
    await rejection(pending);
  });

  it('classifies a refused connection as kind connect, 502, retryable', async () => {
    const dead = await LoopbackServer.start(() => undefined);
    const url = dead.url('/');
    await dead.close();
    const err = await rejection(client.request({ url }));
    expect(err).toMatchObject({ kind: 'connect', status: 502, retryable: true });
  });

  it('classifies a headers timeout as kind timeout, 504', async () => {
    const err = await rejection(client.request({ url: server.url('/hang'), timeouts: { headersMs: 100 } }));
    expect(err).toMatchObject({ kind: 'timeout', status: 504, retryable: true });
  });

  it('classifies a client abort as kind abort, 499, not retryable', async () => {
    const ac = new AbortController();
    const p = client.request({ url: server.url('/hang'), signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    expect(await rejection(p)).toMatchObject({ kind: 'abort', status: 499, retryable: false });
  });

  it('classifies a deadline abort (TimeoutError reason) as timeout', async () => {
    const err = await rejection(
      client.request({ url: server.url('/hang'), signal: AbortSignal.timeout(50) }),
    );
    expect(err).toMatchObject({ kind: 'timeout', status: 504 });
  });

  it('aborting mid-body closes the upstream socket', async () => {
    const ac = new AbortController();
    const res = await client.request({ url: server.url('/slow-body'), signal: ac.signal });
    const it = res.body[Symbol.asyncIterator]();
    expect(Buffer.from((await it.next()).value as Buffer).toString()).toBe('first');
    const closed = server.waitForAbortedResponse();
    ac.abort();
    await closed;
    expect(server.abortedResponses).toBe(1);
  });

  it('applies per-origin pool overrides from the first request', async () => {
    await (await client.request({ url: server.url('/'), pool: { connections: 1 } })).body.dump();
    const ac = new AbortController();
    const first = client.request({ url: server.url('/hang'), signal: ac.signal });
    const second = client.request({ url: server.url('/hang'), signal: ac.signal });
    await new Promise((r) => setTimeout(r, 50));
    // One socket only: the second request waits in the pool's queue.
    expect(client.stats().find((s) => s.origin === server.origin)).toMatchObject({
      connected: 1,
      running: 1,
      pending: 1,
    });
    ac.abort();
    await Promise.all([rejection(first), rejection(second)]);
  });

  it('refuses requests after close()', async () => {
    await client.close();
    await expect(client.request({ url: server.url('/') })).rejects.toThrow();
  });
});

describe('UpstreamClient behind PROXY_URL', () => {
  it('routes every origin through one shared ProxyAgent and still reports per-origin stats', async () => {
    const proxy = await ConnectProxy.start();
    const a = await LoopbackServer.start((_req, res) => sendJson(res, 200, { a: 1 }));
    const b = await LoopbackServer.start((_req, res) => sendJson(res, 200, { b: 1 }));
    const client = new UpstreamClient({ proxyUrl: proxy.url });
    try {
      const d1 = client.dispatcherFor(a.url('/'));
      expect(d1).toBeInstanceOf(ProxyAgent);
      expect(client.dispatcherFor(b.url('/'))).toBe(d1);
      for (const s of [a, a, b]) {
        const res = await client.request({ url: s.url('/v1/x'), method: 'POST', body: '{}' });
        await res.body.json();
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(proxy.tunnels).toBe(2); // one tunnel per origin, reused (keep-alive)
      expect(
        client
          .stats()
          .map((s) => s.origin)
          .sort(),
      ).toEqual([a.origin, b.origin].sort());
    } finally {
      await client.destroy();
      await Promise.all([a.close(), b.close(), proxy.close()]);
    }
  });
});

describe('upstream error helpers', () => {
  it('parses retry-after as seconds, HTTP date and retry-after-ms', () => {
    expect(parseRetryAfter({ 'retry-after': '7' })).toBe(7000);
    expect(parseRetryAfter({ 'retry-after-ms': '250', 'retry-after': '7' })).toBe(250);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }, now)).toBe(5000);
    expect(parseRetryAfter({})).toBeUndefined();
    expect(parseRetryAfter({ 'retry-after': 'soon' })).toBeUndefined();
  });

  it('extracts messages from OpenAI, Anthropic, Gemini and text error bodies', () => {
    expect(parseErrorBody('{"error":{"message":"bad","type":"invalid_request_error"}}')).toEqual({
      message: 'bad',
      type: 'invalid_request_error',
    });
    expect(
      parseErrorBody('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'),
    ).toEqual({
      message: 'Overloaded',
      type: 'overloaded_error',
    });
    expect(
      parseErrorBody('[{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}]'),
    ).toEqual({
      message: 'quota',
      type: 'RESOURCE_EXHAUSTED',
    });
    expect(parseErrorBody('upstream exploded')).toEqual({ message: 'upstream exploded' });
  });

  it('builds ProviderError from a response with status, retry hints and forwarded headers', () => {
    const err = providerErrorFromResponse(
      429,
      { 'retry-after': '7', 'x-other': 'y' },
      '{"error":{"message":"slow down"}}',
      'p',
    );
    expect(err).toMatchObject({
      status: 429,
      kind: 'http',
      retryable: true,
      retryAfterMs: 7000,
      message: 'slow down',
    });
    expect(err.headers).toEqual({ 'retry-after': '7' });
    expect(providerErrorFromResponse(500, { 'x-should-retry': 'false' }, '', 'p').retryable).toBe(false);
  });

  it('classifies wrapped undici codes via the cause chain', () => {
    const tls = Object.assign(new Error('fetch failed'), {
      cause: Object.assign(new Error('cert'), { code: 'CERT_HAS_EXPIRED' }),
    });
    expect(classifyTransportError(tls).kind).toBe('connect');
    expect(
      classifyTransportError(Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' })).kind,
    ).toBe('timeout');
    expect(classifyTransportError(new Error('weird')).kind).toBe('protocol');
  });
});
