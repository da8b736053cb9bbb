import { accumulateEvents } from '../../protocol/accumulate';
import type { CanonicalRequest } from '../../protocol/types';
import { collectEvents } from '../event-stream';
import { ProviderError, type ProviderConfig, type Target, type UpstreamCallContext } from '../provider.types';
import { cutConnection, LoopbackServer, sendJson, writeSse } from '../testing/loopback-server';
import { TransformerRegistry } from '../transformers/transformer.registry';
import { UpstreamClient } from '../upstream.client';
import { GeminiAdapter, geminiUrl } from './gemini.adapter';

const SSE = [
  {
    candidates: [{ content: { role: 'model', parts: [{ text: 'Hel' }] } }],
    usageMetadata: { promptTokenCount: 9 },
  },
  { candidates: [{ content: { role: 'model', parts: [{ text: 'lo' }] } }] },
  {
    candidates: [{ content: { role: 'model', parts: [{ text: '!' }] }, finishReason: 'STOP' }],
    usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 3, totalTokenCount: 12 },
    modelVersion: 'gemini-2.5-flash',
  },
].map((c) => JSON.stringify(c));

const NON_STREAM = {
  candidates: [
    {
      content: { role: 'model', parts: [{ functionCall: { name: 'add', args: { a: 2, b: 3 } } }] },
      finishReason: 'STOP',
    },
  ],
  usageMetadata: { promptTokenCount: 50, candidatesTokenCount: 7 },
};

function request(stream: boolean): CanonicalRequest {
  return {
    model: 'claude-sonnet',
    max_tokens: 500,
    stream,
    messages: [{ role: 'user', content: 'Hi' }],
    tools: [{ name: 'add', input_schema: { type: 'object', properties: { a: { type: 'number' } } } }],
  };
}

describe('GeminiAdapter', () => {
  let server: LoopbackServer;
  let client: UpstreamClient;
  let adapter: GeminiAdapter;
  let provider: ProviderConfig;
  let ctx: UpstreamCallContext;
  let ac: AbortController;

  beforeEach(async () => {
    server = await LoopbackServer.start((req, res) => {
      if (req.url.includes('rate-limited')) {
        return sendJson(
          res,
          429,
          { error: { code: 429, message: 'Quota exceeded', status: 'RESOURCE_EXHAUSTED' } },
          { 'retry-after': '3' },
        );
      }
      if (req.url.includes('cut')) {
        writeSse(res, SSE.slice(0, 1), false);
        setTimeout(() => cutConnection(res), 20);
        return;
      }
      if (req.url.includes('hang')) {
        return writeSse(res, SSE.slice(0, 1), false);
      }
      return req.url.includes(':streamGenerateContent') ? writeSse(res, SSE) : sendJson(res, 200, NON_STREAM);
    });
    client = new UpstreamClient();
    adapter = new GeminiAdapter({ client, transformers: new TransformerRegistry() });
    provider = {
      name: 'gemini',
      api_base_url: server.url('/v1beta/models/'),
      api_key: 'g-key',
      models: ['gemini-2.5-flash'],
      transformer: { use: ['gemini', ['customparams', { safetySettings: [] }]] },
    };
    ac = new AbortController();
    ctx = {
      requestId: 'r1',
      signal: ac.signal,
      clientHeaders: {},
      inputTokensEstimate: 11,
      clientModel: 'claude-sonnet',
    };
  });

  afterEach(async () => {
    await client.destroy();
    await server.close();
  });

  const target = (model = 'gemini-2.5-flash'): Target => ({ provider, model });

  it('builds CCR-style and bare-version URLs', () => {
    expect(geminiUrl('https://g.test/v1beta/models/', 'gemini-2.5-pro', true)).toBe(
      'https://g.test/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse',
    );
    expect(geminiUrl('https://g.test/v1beta', 'models/gemini-2.5-pro', false)).toBe(
      'https://g.test/v1beta/models/gemini-2.5-pro:generateContent',
    );
  });

  it('streams canned Gemini SSE into canonical events', async () => {
    const events = await collectEvents(await adapter.send(request(true), target(), ctx));
    const seen = server.requests[0];
    expect(seen.url).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    expect(seen.headers['x-goog-api-key']).toBe('g-key');
    expect(seen.json()).toMatchObject({
      contents: [{ role: 'user', parts: [{ text: 'Hi' }] }],
      safetySettings: [],
      generationConfig: { maxOutputTokens: 500 },
    });
    const msg = accumulateEvents(events);
    expect(msg).toMatchObject({
      model: 'claude-sonnet',
      content: [{ type: 'text', text: 'Hello!' }],
      stop_reason: 'end_turn',
    });
    expect(msg.usage).toMatchObject({ input_tokens: 9, output_tokens: 3 });
  });

  it('converts a non-stream answer to the same events', async () => {
    const events = await collectEvents(await adapter.send(request(false), target(), ctx));
    expect(server.requests[0].url).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    const msg = accumulateEvents(events);
    expect(msg.content).toEqual([
      { type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'add', input: { a: 2, b: 3 } },
    ]);
    expect(msg.stop_reason).toBe('tool_use');
  });

  it('rejects with ProviderError carrying status and retry-after before the stream starts', async () => {
    const err = (await adapter
      .send(request(true), target('rate-limited'), ctx)
      .catch((e: unknown) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({
      status: 429,
      kind: 'http',
      retryAfterMs: 3000,
      message: 'Quota exceeded',
      upstreamType: 'RESOURCE_EXHAUSTED',
    });
  });

  it('ends a cut stream with a terminal error event', async () => {
    const events = await collectEvents(await adapter.send(request(true), target('cut'), ctx));
    expect(events[events.length - 1]).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(events.map((e) => e.type)).not.toContain('message_stop');
  });

  it('abort mid-stream closes the upstream socket', async () => {
    const it = (await adapter.send(request(true), target('hang'), ctx))[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ type: 'message_start' });
    expect((await it.next()).value).toMatchObject({ type: 'content_block_start' });
    const closed = server.waitForAbortedResponse();
    ac.abort();
    await closed;
    const rest: unknown[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) {
      rest.push(r.value);
    }
    expect(rest[rest.length - 1]).toMatchObject({ type: 'error' });
  });

  it('a throwing transformer fails the call with a non-retryable 500 naming it', async () => {
    const boom = new TransformerRegistry([
      {
        name: 'boom',
        factory: () => ({
          name: 'boom',
          request: () => {
            throw new Error('bad config');
          },
        }),
      },
    ]);
    const broken = new GeminiAdapter({ client, transformers: boom });
    provider.transformer = { use: ['gemini', 'boom'] };
    const err = (await broken.send(request(true), target(), ctx).catch((e: unknown) => e)) as ProviderError;
    expect(err).toMatchObject({
      status: 500,
      retryable: false,
      message: 'transformer "boom" failed: bad config',
    });
    expect(server.requests).toHaveLength(0);
  });
});
