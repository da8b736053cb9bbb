import { accumulateEvents } from '../../protocol/accumulate';
import type { CanonicalRequest } from '../../protocol/types';
import { collectEvents } from '../event-stream';
import { ProviderError, type ProviderConfig, type Target, type UpstreamCallContext } from '../provider.types';
import { cutConnection, LoopbackServer, sendJson, writeSse } from '../testing/loopback-server';
import { TransformerRegistry } from '../transformers/transformer.registry';
import { UpstreamClient } from '../upstream.client';
import { AnthropicAdapter, anthropicCountTokensUrl, anthropicMessagesUrl } from './anthropic.adapter';

const ev = (event: string, data: object): { event: string; data: string } => ({
  event,
  data: JSON.stringify({ type: event, ...data }) + '   ',
});

/** PROTOCOL §3.3: real api.anthropic.com capture (text + two parallel tools; trailing spaces kept). */
const CAPTURE = [
  ev('message_start', {
    message: {
      id: 'msg_01Sp',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-20250514',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: 502,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: 4,
      },
    },
  }),
  ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
  ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: "I'll add an" } }),
  { event: 'ping', data: '{"type": "ping"}' },
  ev('content_block_stop', { index: 0 }),
  ev('content_block_start', {
    index: 1,
    content_block: { type: 'tool_use', id: 'toolu_01GrN', name: 'add', input: {} },
  }),
  ...['', '{"a": ', '2', ', "b": 3}'].map((p) =>
    ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: p } }),
  ),
  ev('content_block_stop', { index: 1 }),
  ev('content_block_start', {
    index: 2,
    content_block: { type: 'tool_use', id: 'toolu_0113', name: 'multiply', input: {} },
  }),
  ev('content_block_delta', {
    index: 2,
    delta: { type: 'input_json_delta', partial_json: '{"a": 2, "b": 3}' },
  }),
  ev('content_block_stop', { index: 2 }),
  ev('message_delta', {
    delta: { stop_reason: 'tool_use', stop_sequence: null },
    usage: {
      input_tokens: 502,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: 137,
    },
  }),
  ev('message_stop', {}),
];

const MESSAGE = {
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-20250514',
  content: [{ type: 'text', text: 'Hi' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 10, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
};

function request(stream: boolean): CanonicalRequest {
  return {
    model: 'claude-sonnet-4',
    max_tokens: 32000,
    stream,
    messages: [{ role: 'user', content: 'Add 2 and 3' }],
    context_management: { edits: [] },
    metadata: { user_id: '{"device_id":"d"}' },
  };
}

describe('AnthropicAdapter', () => {
  let server: LoopbackServer;
  let client: UpstreamClient;
  let adapter: AnthropicAdapter;
  let ac: AbortController;
  let ctx: UpstreamCallContext;

  beforeEach(async () => {
    server = await LoopbackServer.start((req, res) => {
      if (req.url.endsWith('/count_tokens')) {
        return req.url.startsWith('/broken')
          ? sendJson(res, 404, { error: 'no' })
          : sendJson(res, 200, { input_tokens: 2095 });
      }
      switch (req.json().model) {
        case 'overloaded':
          return sendJson(
            res,
            529,
            { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
            { 'retry-after': '2' },
          );
        case 'cut':
          writeSse(res, CAPTURE.slice(0, 3), false);
          return void setTimeout(() => cutConnection(res), 20);
        case 'eof':
          return writeSse(res, CAPTURE.slice(0, 3));
        case 'sparse-usage': {
          // A third party that reports only input and output tokens (no cache counters).
          const sparse = (u: object) => (e: { event: string; data: string }) => {
            const data = JSON.parse(e.data) as Record<string, any>;
            if (data.type === 'message_start') {
              data.message.usage = u;
            } else if (data.type === 'message_delta') {
              data.usage = { output_tokens: 137 };
            }
            return { event: e.event, data: JSON.stringify(data) };
          };
          return req.json().stream
            ? writeSse(res, CAPTURE.map(sparse({ input_tokens: 12, output_tokens: 1 })))
            : sendJson(res, 200, { ...MESSAGE, usage: { input_tokens: 12, output_tokens: 3 } });
        }
        case 'no-message-stop':
          return writeSse(res, CAPTURE.slice(0, -1));
        case 'no-message-stop-cut':
          writeSse(res, CAPTURE.slice(0, -1), false);
          return void setTimeout(() => cutConnection(res), 20);
        case 'error-event':
          return writeSse(res, [
            ...CAPTURE.slice(0, 3),
            ev('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }),
          ]);
        case 'hang':
          return writeSse(res, CAPTURE.slice(0, 3), false);
        default:
          return req.json().stream ? writeSse(res, CAPTURE) : sendJson(res, 200, MESSAGE);
      }
    });
    client = new UpstreamClient();
    adapter = new AnthropicAdapter({ client, transformers: new TransformerRegistry() });
    ac = new AbortController();
    ctx = {
      requestId: 'r1',
      signal: ac.signal,
      clientHeaders: {
        'anthropic-beta': [
          'claude-code-20250219',
          'context-management-2025-06-27,interleaved-thinking-2025-05-14',
        ],
      },
      inputTokensEstimate: 500,
      clientModel: 'claude-sonnet-4',
    };
  });

  afterEach(async () => {
    await client.destroy();
    await server.close();
  });

  const target = (model = 'deepseek-chat', over: Partial<ProviderConfig> = {}): Target => ({
    provider: {
      name: 'ds',
      api_base_url: server.url('/anthropic'),
      api_key: 'sk-ant',
      models: [model],
      transformer: { use: ['Anthropic'] },
      ...over,
    },
    model,
  });

  it('builds Messages and count_tokens URLs from CCR-style bases', () => {
    expect(anthropicMessagesUrl('https://api.anthropic.com/v1/messages')).toBe(
      'https://api.anthropic.com/v1/messages',
    );
    expect(anthropicMessagesUrl('https://api.anthropic.com')).toBe('https://api.anthropic.com/v1/messages');
    expect(anthropicMessagesUrl('https://x.test/v1/')).toBe('https://x.test/v1/messages');
    expect(anthropicMessagesUrl('https://api.deepseek.com/anthropic')).toBe(
      'https://api.deepseek.com/anthropic/v1/messages',
    );
    expect(anthropicCountTokensUrl('https://api.anthropic.com/v1/messages?beta=true')).toBe(
      'https://api.anthropic.com/v1/messages/count_tokens?beta=true',
    );
  });

  it('relays the §3.3 capture as parsed canonical events with usage and the client model', async () => {
    const events = await collectEvents(await adapter.send(request(true), target(), ctx));
    const seen = server.requests[0];
    expect(seen.url).toBe('/anthropic/v1/messages');
    expect(seen.headers).toMatchObject({
      'x-api-key': 'sk-ant',
      'anthropic-version': '2023-06-01',
      accept: 'text/event-stream',
    });
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers['anthropic-beta']).toBeUndefined(); // third party: no betas unless allowed
    const body = seen.json();
    expect(body).toMatchObject({ model: 'deepseek-chat', stream: true, max_tokens: 32000 });
    expect(body.context_management).toBeUndefined();
    expect(events.map((e) => e.type)).toContain('ping');
    const msg = accumulateEvents(events);
    expect(msg.model).toBe('claude-sonnet-4');
    expect(msg.content).toEqual([
      { type: 'text', text: "I'll add an" },
      { type: 'tool_use', id: 'toolu_01GrN', name: 'add', input: { a: 2, b: 3 } },
      { type: 'tool_use', id: 'toolu_0113', name: 'multiply', input: { a: 2, b: 3 } },
    ]);
    expect(msg.usage).toMatchObject({ input_tokens: 502, output_tokens: 137 });
  });

  it('forwards allowed betas, the client anthropic-version and Bearer auth when configured', async () => {
    ctx.clientHeaders['anthropic-version'] = '2026-10-21';
    await collectEvents(
      await adapter.send(
        request(true),
        target('deepseek-chat', { allowBetas: ['interleaved-thinking-2025-05-14'], authHeader: 'bearer' }),
        ctx,
      ),
    );
    expect(server.requests[0].headers).toMatchObject({
      'anthropic-beta': 'interleaved-thinking-2025-05-14',
      'anthropic-version': '2026-10-21',
      authorization: 'Bearer sk-ant',
    });
  });

  it('turns a non-stream Message into the same events', async () => {
    const msg = accumulateEvents(await collectEvents(await adapter.send(request(false), target(), ctx)));
    expect(msg).toMatchObject({
      model: 'claude-sonnet-4',
      content: [{ type: 'text', text: 'Hi' }],
      stop_reason: 'end_turn',
    });
  });

  it('rejects a pre-stream 529 with status, type and retry-after', async () => {
    const err = (await adapter
      .send(request(true), target('overloaded'), ctx)
      .catch((e: unknown) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({
      status: 529,
      kind: 'http',
      retryable: true,
      retryAfterMs: 2000,
      upstreamType: 'overloaded_error',
      message: 'Overloaded',
    });
  });

  it('a stream that ends or is cut before message_stop ends with a terminal api_error', async () => {
    const eof = await collectEvents(await adapter.send(request(true), target('eof'), ctx));
    expect(eof[eof.length - 1]).toEqual({
      type: 'error',
      error: { type: 'api_error', message: 'upstream stream ended before message_stop' },
    });
    const cut = await collectEvents(await adapter.send(request(true), target('cut'), ctx));
    expect(cut[cut.length - 1]).toMatchObject({
      type: 'error',
      error: {
        type: 'api_error',
        message: expect.stringMatching(/^upstream stream ended before message_stop/),
      },
    });
    expect(cut.map((e) => e.type)).not.toContain('message_stop');
  });

  it('a stream that ends after message_delta (stop reason given) without message_stop is finalised', async () => {
    const events = await collectEvents(await adapter.send(request(true), target('no-message-stop'), ctx));
    expect(events.slice(-2).map((e) => e.type)).toEqual(['message_delta', 'message_stop']);
    expect(accumulateEvents(events)).toMatchObject({
      stop_reason: 'tool_use',
      usage: { output_tokens: 137 },
    });
    // A connection that breaks instead of ending is still a failure, as on the OpenAI path.
    const cut = await collectEvents(await adapter.send(request(true), target('no-message-stop-cut'), ctx));
    expect(cut[cut.length - 1]).toMatchObject({ type: 'error', error: { type: 'api_error' } });
  });

  it('usage always carries the four counters (stream message_start / message_delta, and non-stream)', async () => {
    const events = await collectEvents(await adapter.send(request(true), target('sparse-usage'), ctx));
    const start = events.find((e) => e.type === 'message_start');
    const delta = events.find((e) => e.type === 'message_delta');
    const counters = (input: number, output: number) => ({
      input_tokens: input,
      output_tokens: output,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    });
    expect(start?.type === 'message_start' && start.message.usage).toEqual(counters(12, 1));
    // input_tokens carried over from message_start, not reset to 0 by the repeat
    expect(delta?.type === 'message_delta' && delta.usage).toEqual(counters(12, 137));
    const whole = accumulateEvents(
      await collectEvents(await adapter.send(request(false), target('sparse-usage'), ctx)),
    );
    expect(whole.usage).toEqual(counters(12, 3));
  });

  it('an upstream error event becomes the terminal error event', async () => {
    const events = await collectEvents(await adapter.send(request(true), target('error-event'), ctx));
    expect(events[events.length - 1]).toEqual({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    });
    expect(events.filter((e) => e.type === 'error')).toHaveLength(1);
  });

  it('abort mid-stream closes the upstream socket', async () => {
    const it = (await adapter.send(request(true), target('hang'), ctx))[Symbol.asyncIterator]();
    await it.next();
    const closed = server.waitForAbortedResponse();
    ac.abort();
    await closed;
    expect(server.abortedResponses).toBe(1);
    await it.return?.();
  });

  it('countTokens: upstream count, null when disabled or failing', async () => {
    expect(await adapter.countTokens(request(false), target(), ctx)).toBe(2095);
    const counted = server.requests[0];
    expect(counted.url).toBe('/anthropic/v1/messages/count_tokens');
    expect(Object.keys(counted.json()).sort()).toEqual(['messages', 'model']);
    expect(
      await adapter.countTokens(request(false), target('deepseek-chat', { countTokens: false }), ctx),
    ).toBeNull();
    expect(server.requests).toHaveLength(1);
    expect(
      await adapter.countTokens(
        request(false),
        target('deepseek-chat', { api_base_url: server.url('/broken') }),
        ctx,
      ),
    ).toBeNull();
  });
});
