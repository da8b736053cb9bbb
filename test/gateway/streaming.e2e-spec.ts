import Anthropic from '@anthropic-ai/sdk';
import { SseParser } from '../../src/protocol/sse';
import { eventually, startGateway, type GatewayUnderTest } from '../support/gateway';

interface WireEvent {
  event?: string;
  data: any;
}

/** Reads an SSE answer as raw frames (what a client sees on the wire). */
async function readSse(res: Response): Promise<WireEvent[]> {
  const parser = new SseParser();
  const out: WireEvent[] = [];
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    const messages = done ? parser.end() : parser.push(value);
    for (const m of messages) {
      out.push({ event: m.event, data: m.data === '[DONE]' ? '[DONE]' : JSON.parse(m.data) });
    }
    if (done) {
      return out;
    }
  }
}

function post(gw: GatewayUnderTest, path: string, body: object, signal?: AbortSignal): Promise<Response> {
  return fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
}

const fault = (f: object, extra: object = {}): string => `Hi [[fake:${JSON.stringify({ fault: f, ...extra })}]]`;

describe('streaming egress', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway({ config: { Server: { pingIntervalMs: 100 } } });
    // The first request of a process pays for lazy module loading; timing assertions start warm.
    await post(gw, '/v1/messages', { model: 'openai,gpt-fake', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'warm' }] }).then((r) => r.text());
    const warmAbort = new AbortController();
    const res = await post(gw, '/v1/messages', { model: 'openai,gpt-fake', max_tokens: 5, stream: true, messages: [{ role: 'user', content: fault({ type: 'stall-after-first-byte' }) }] }, warmAbort.signal);
    await (res.body as ReadableStream<Uint8Array>).getReader().read();
    warmAbort.abort();
    await eventually(() => gw.fake.requests.some((r) => r.closedByClient));
    global.gc?.();
  });
  afterAll(() => gw.stop());

  it.each(['openai,gpt-fake', 'anthropic,claude-fake', 'gemini,gemini-fake'])(
    'client disconnect aborts the upstream request within 100 ms (%s)',
    async (model) => {
      const controller = new AbortController();
      const before = gw.fake.requests.length;
      const res = await post(
        gw,
        '/v1/messages',
        { model, max_tokens: 50, stream: true, messages: [{ role: 'user', content: fault({ type: 'stall-after-first-byte' }) }] },
        controller.signal,
      );
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      const abortedAt = Date.now();
      controller.abort();
      await eventually(() => gw.fake.requests.slice(before).some((r) => r.closedByClient), 2000);
      const upstream = gw.fake.requests.slice(before).find((r) => r.closedByClient);
      expect((upstream?.clientClosedAt ?? Infinity) - abortedAt).toBeLessThan(100);
    },
  );

  it('a client that disconnects while the upstream has not answered yet also aborts it', async () => {
    const controller = new AbortController();
    const before = gw.fake.requests.length;
    const pending = post(
      gw,
      '/v1/messages',
      { model: 'openai,gpt-fake', max_tokens: 50, stream: false, messages: [{ role: 'user', content: fault({ type: 'hang' }) }] },
      controller.signal,
    ).catch(() => undefined);
    await eventually(() => gw.fake.requests.length > before);
    const abortedAt = Date.now();
    controller.abort();
    await pending;
    await eventually(() => gw.fake.requests[before].closedByClient, 2000);
    expect((gw.fake.requests[before].clientClosedAt ?? Infinity) - abortedAt).toBeLessThan(100);
    await fetch(`${gw.url}/health/live`).then((r) => expect(r.status).toBe(200));
  });

  it.each(['openai,gpt-fake', 'anthropic,claude-fake', 'gemini,gemini-fake'])(
    'a cut upstream stream ends with an error event, never message_stop (%s)',
    async (model) => {
      const res = await post(gw, '/v1/messages', {
        model,
        max_tokens: 50,
        stream: true,
        messages: [{ role: 'user', content: fault({ type: 'cut' }, { chunkCount: 6 }) }],
      });
      expect(res.status).toBe(200);
      const events = await readSse(res);
      const types = events.map((e) => e.event);
      expect(types[0]).toBe('message_start');
      expect(types[types.length - 1]).toBe('error');
      expect(types).not.toContain('message_stop');
      expect(events[events.length - 1].data).toEqual({ type: 'error', error: { type: expect.any(String), message: expect.any(String) } });
      for (const e of events) {
        expect(e.event).toBe(e.data.type);
      }
    },
  );

  it('a cut stream is an error for the Anthropic SDK, not a silent end', async () => {
    const client = new Anthropic({ baseURL: gw.url, apiKey: 'k', maxRetries: 0 });
    const stream = client.messages.stream({
      model: 'openai,gpt-fake',
      max_tokens: 50,
      messages: [{ role: 'user', content: fault({ type: 'cut' }, { chunkCount: 6 }) }],
    });
    await expect(stream.finalMessage()).rejects.toThrow();
  });

  it('a cut stream for a non-stream client is a 5xx error, not a partial message', async () => {
    const res = await post(gw, '/v1/messages', {
      model: 'openai,gpt-fake',
      max_tokens: 50,
      messages: [{ role: 'user', content: fault({ type: 'cut' }, { chunkCount: 6 }) }],
    });
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: expect.any(String) } });
  });

  it('OpenAI ingress: a cut stream ends with a data: {error} line and no [DONE]', async () => {
    const res = await post(gw, '/v1/chat/completions', {
      model: 'anthropic,claude-fake',
      stream: true,
      messages: [{ role: 'user', content: fault({ type: 'cut' }, { chunkCount: 6 }) }],
    });
    const events = await readSse(res);
    const last = events[events.length - 1];
    expect(last.data).toEqual({ error: { message: expect.any(String), type: expect.any(String), param: null, code: null } });
    expect(events.some((e) => e.data === '[DONE]')).toBe(false);
  });

  it('sends ping events while the upstream is silent', async () => {
    const res = await post(gw, '/v1/messages', {
      model: 'openai,gpt-fake',
      max_tokens: 50,
      stream: true,
      messages: [{ role: 'user', content: `Hi [[fake:${JSON.stringify({ chunkCount: 2, chunkGapMs: 350 })}]]` }],
    });
    const events = await readSse(res);
    expect(events.filter((e) => e.event === 'ping').length).toBeGreaterThanOrEqual(2);
    expect(events[events.length - 1].event).toBe('message_stop');
  });

  it('multi-byte text (CJK, emoji) arrives intact through every kind', async () => {
    const text = '你好，世界 🌍🚀 こんにちは — ünïcödé 👩‍👩‍👧‍👦';
    for (const model of ['openai,gpt-fake', 'anthropic,claude-fake', 'gemini,gemini-fake']) {
      const client = new Anthropic({ baseURL: gw.url, apiKey: 'k', maxRetries: 0 });
      const final = await client.messages
        .stream({
          model,
          max_tokens: 50,
          messages: [{ role: 'user', content: `Hi [[fake:${JSON.stringify({ text, chunkCount: 9 })}]]` }],
        })
        .finalMessage();
      expect(final.content[0]).toMatchObject({ type: 'text', text });
    }
  });

  it('stall after the first byte is cut by the client, never answered with a fake end', async () => {
    const controller = new AbortController();
    const res = await post(
      gw,
      '/v1/messages',
      { model: 'anthropic,claude-fake', max_tokens: 50, stream: true, messages: [{ role: 'user', content: fault({ type: 'stall-after-first-byte' }) }] },
      controller.signal,
    );
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('event: message_start');
    controller.abort();
  });
});

describe('a client that stops reading', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway({ config: { Server: { stalledClientMs: 500 } } });
  });
  afterAll(() => gw.stop());

  it('is cut after Server.stalledClientMs and its upstream call is cancelled; memory is not held for it', async () => {
    const { connect } = await import('node:net');
    const url = new URL(gw.url);
    const payload = JSON.stringify({
      model: 'openai,gpt-fake',
      max_tokens: 50,
      stream: true,
      // ~8 MB of text in 4,000 deltas, paced so the upstream stays open while the client sleeps.
      messages: [{ role: 'user', content: `big [[fake:${JSON.stringify({ textBytes: 8_000_000, chunkCount: 4000, chunkGapMs: 1 })}]]` }],
    });
    const before = gw.fake.requests.length;
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.pause(); // never read: the kernel buffers fill, then the gateway's write buffer
    socket.write(
      `POST /v1/messages HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
    );
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await eventually(() => gw.fake.requests.slice(before).some((r) => r.closedByClient), 15_000);
    socket.destroy();
    await closed;
    await fetch(`${gw.url}/health/live`).then((r) => expect(r.status).toBe(200));
  });
});
