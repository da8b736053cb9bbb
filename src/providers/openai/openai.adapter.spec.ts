import { accumulateEvents } from '../../protocol/accumulate';
import type { CanonicalRequest, StreamEvent } from '../../protocol/types';
import { collectEvents } from '../event-stream';
import { ProviderError, type ProviderConfig, type Target, type UpstreamCallContext } from '../provider.types';
import { cutConnection, LoopbackServer, sendJson, writeSse } from '../testing/loopback-server';
import { TransformerRegistry } from '../transformers/transformer.registry';
import { UpstreamClient } from '../upstream.client';
import { COMPLETION, PARALLEL_TOOLS, ck, tc } from '../testing/openai-captures';
import { OpenAIAdapter, openAIChatUrl } from './openai.adapter';

function request(stream: boolean, over: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return {
    model: 'claude-sonnet-4',
    max_tokens: 32000,
    stream,
    system: 'Be brief',
    messages: [{ role: 'user', content: 'Add 2 and 3, multiply 2 and 3' }],
    tools: [
      { name: 'add', input_schema: { type: 'object', properties: { a: { type: 'number' } } } },
      { name: 'multiply', input_schema: { type: 'object', properties: { a: { type: 'number' } } } },
    ],
    ...over,
  };
}

describe('OpenAIAdapter', () => {
  let server: LoopbackServer;
  let client: UpstreamClient;
  let adapter: OpenAIAdapter;
  let ac: AbortController;
  let ctx: UpstreamCallContext;
  let release: () => void;

  beforeEach(async () => {
    let unblock!: () => void;
    const gate = new Promise<void>((r) => (unblock = r));
    release = unblock;
    server = await LoopbackServer.start(async (req, res) => {
      const model = String((req.json() as { model?: string }).model);
      switch (model) {
        case 'rate-limited':
          return sendJson(
            res,
            429,
            { error: { message: 'Rate limit reached', type: 'rate_limit_error' } },
            { 'retry-after': '7' },
          );
        case 'overloaded':
          res.writeHead(503, { 'content-type': 'text/plain' });
          return res.end('upstream overloaded');
        case 'cut':
          writeSse(res, [ck({ content: 'Hel' }), ck({ content: 'lo' })], false);
          return void setTimeout(() => cutConnection(res), 20);
        case 'error-chunk':
          return writeSse(res, [ck({ content: 'Hel' }), JSON.stringify({ error: { message: 'x' } })]);
        case 'slow':
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.flushHeaders();
          await gate;
          return res.end(
            [ck({ content: 'late' }), ck({}, 'stop'), '[DONE]'].map((d) => `data: ${d}\n\n`).join(''),
          );
        case 'hang':
          return writeSse(res, [ck({ content: 'Hel' })], false);
        case 'sloppy-tools':
          return writeSse(res, [
            ck(tc(0, { name: 'add', arguments: "{'a': 2," }, 'call_1')),
            ck(tc(0, { arguments: ' "b": 3' })),
            ck({}, 'tool_calls'),
            '[DONE]',
          ]);
        case 'error-first':
          return writeSse(res, [JSON.stringify({ error: { message: 'quota exceeded', code: 429 } })]);
        case 'role-then-error':
          return writeSse(res, [
            ck({ role: 'assistant', content: '' }),
            JSON.stringify({ error: { message: 'boom', type: 'server_error' } }),
          ]);
        case 'finish-error-first':
          return writeSse(res, [ck({ role: 'assistant', content: '' }), ck({}, 'error')]);
        case 'empty-finish':
          return writeSse(res, [ck({ role: 'assistant', content: '' }), ck({}, 'stop'), '[DONE]']);
        case 'done-then-hang':
          return writeSse(res, [ck({ content: 'Hi' }), ck({}, 'stop'), '[DONE]'], false);
        case 'cut-json':
          return sendJson(res, 200, {
            id: 'chatcmpl-cut',
            object: 'chat.completion',
            created: 1,
            model: 'gpt-4o',
            choices: [
              {
                index: 0,
                finish_reason: 'length',
                message: {
                  role: 'assistant',
                  content: null,
                  tool_calls: [
                    { id: 'call_1', type: 'function', function: { name: 'add', arguments: '{"a": 2, "b' } },
                  ],
                },
              },
            ],
            usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 },
          });
        case 'refusal-json':
          return sendJson(res, 200, {
            id: 'chatcmpl-r',
            object: 'chat.completion',
            created: 1,
            model: 'gpt-4o',
            choices: [
              {
                index: 0,
                finish_reason: 'stop',
                message: { role: 'assistant', content: 'Sure, but ', refusal: 'not that.' },
              },
            ],
          });
        case 'json-error':
          return sendJson(res, 200, { error: { message: 'No endpoints found', code: 404 } });
        default:
          return req.json().stream ? writeSse(res, PARALLEL_TOOLS) : sendJson(res, 200, COMPLETION);
      }
    });
    client = new UpstreamClient();
    adapter = new OpenAIAdapter({ client, transformers: new TransformerRegistry() });
    ac = new AbortController();
    ctx = {
      requestId: 'r1',
      signal: ac.signal,
      clientHeaders: {},
      inputTokensEstimate: 99,
      clientModel: 'claude-sonnet-4',
    };
  });

  afterEach(async () => {
    release();
    await client.destroy();
    await server.close();
  });

  const target = (model = 'gpt-4o', over: Partial<ProviderConfig> = {}): Target => ({
    provider: {
      name: 'openai',
      api_base_url: server.url('/v1/chat/completions'),
      api_key: 'sk-test',
      models: [model],
      ...over,
    },
    model,
  });

  it('builds CCR-style URLs', () => {
    expect(openAIChatUrl('https://openrouter.ai/api/v1/chat/completions')).toBe(
      'https://openrouter.ai/api/v1/chat/completions',
    );
    expect(openAIChatUrl('https://api.x.test/v1')).toBe('https://api.x.test/v1/chat/completions');
    expect(openAIChatUrl('https://open.bigmodel.cn/api/paas/v4/')).toBe(
      'https://open.bigmodel.cn/api/paas/v4/chat/completions',
    );
    expect(openAIChatUrl('http://localhost:11434')).toBe('http://localhost:11434/v1/chat/completions');
  });

  it('streams the §5.4 parallel-tool capture into canonical tool_use blocks', async () => {
    const events = await collectEvents(await adapter.send(request(true), target(), ctx));
    const seen = server.requests[0];
    expect(seen.url).toBe('/v1/chat/completions');
    expect(seen.headers.authorization).toBe('Bearer sk-test');
    expect(seen.json()).toMatchObject({
      model: 'gpt-4o',
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 32000,
    });
    expect(seen.json().messages[0]).toEqual({ role: 'system', content: 'Be brief' });
    const msg = accumulateEvents(events);
    expect(msg.model).toBe('claude-sonnet-4');
    expect(msg.content).toEqual([
      { type: 'tool_use', id: 'call_43EjiOxHOpfmq7iAWmLhEPss', name: 'add', input: { a: 2, b: 3 } },
      { type: 'tool_use', id: 'call_ZdPqPwLu0Jt3m2ZbvMxBsdtj', name: 'multiply', input: { a: 2, b: 3 } },
    ]);
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.usage).toMatchObject({ input_tokens: 106, output_tokens: 50 });
    expect(events.filter((e) => e.type === 'message_stop')).toHaveLength(1);
  });

  it('resolves on 2xx headers; message_start comes with the first content event', async () => {
    const events = await adapter.send(request(true), target('slow'), ctx); // the body is still held
    const it = events[Symbol.asyncIterator]();
    const first = it.next();
    release();
    const head = await first;
    expect(head.value).toMatchObject({
      type: 'message_start',
      message: { model: 'claude-sonnet-4', usage: { input_tokens: 99 } },
    });
    const rest: StreamEvent[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) {
      rest.push(r.value);
    }
    expect(accumulateEvents([head.value as StreamEvent, ...rest]).content).toEqual([
      { type: 'text', text: 'late' },
    ]);
  });

  it('an upstream error before any content is the first event (pre-commit), with its mapped type', async () => {
    for (const model of ['error-first', 'role-then-error', 'finish-error-first']) {
      const events = await collectEvents(await adapter.send(request(true), target(model), ctx));
      expect(events).toHaveLength(1);
      expect(events[0].type).toBe('error');
    }
    const [quota] = await collectEvents(await adapter.send(request(true), target('error-first'), ctx));
    expect(quota).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'quota exceeded' } });
    // An empty answer that still finishes is a (short) answer, not an error.
    const empty = await collectEvents(await adapter.send(request(true), target('empty-finish'), ctx));
    expect(empty.map((e) => e.type)).toEqual(['message_start', 'message_delta', 'message_stop']);
  });

  it('converts a non-stream completion into the same events', async () => {
    const events = await collectEvents(await adapter.send(request(false), target(), ctx));
    expect(server.requests[0].json().stream).toBeUndefined();
    const msg = accumulateEvents(events);
    expect(msg).toMatchObject({
      model: 'claude-sonnet-4',
      content: [{ type: 'text', text: 'Hello' }],
      stop_reason: 'end_turn',
    });
    expect(msg.usage).toMatchObject({ input_tokens: 6, output_tokens: 2, cache_read_input_tokens: 4 });
  });

  it('a non-stream completion cut by length: max_tokens, the partial arguments kept in the events', async () => {
    const events = await collectEvents(await adapter.send(request(false), target('cut-json'), ctx));
    const args = events.flatMap((e) =>
      e.type === 'content_block_delta' && e.delta.type === 'input_json_delta' ? [e.delta.partial_json] : [],
    );
    expect(args.join('')).toBe('{"a": 2, "b');
    expect(accumulateEvents(events)).toMatchObject({
      stop_reason: 'max_tokens',
      content: [{ type: 'tool_use', name: 'add', input: {} }],
    });
  });

  it("a non-stream completion's refusal is a marked text block of its own, after the content", async () => {
    const events = await collectEvents(await adapter.send(request(false), target('refusal-json'), ctx));
    const starts = events.filter((e) => e.type === 'content_block_start');
    expect(starts).toEqual([
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' }, refusal: true },
    ]);
    expect(accumulateEvents(events).content).toEqual([
      { type: 'text', text: 'Sure, but ' },
      { type: 'text', text: 'not that.' },
    ]);
  });

  it('maps a pre-stream 429 to ProviderError with status, message and retry-after', async () => {
    const err = (await adapter
      .send(request(true), target('rate-limited'), ctx)
      .catch((e: unknown) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({
      status: 429,
      kind: 'http',
      retryable: true,
      retryAfterMs: 7000,
      message: 'Rate limit reached',
    });
    expect(err.headers['retry-after']).toBe('7');
    const text = (await adapter
      .send(request(true), target('overloaded'), ctx)
      .catch((e: unknown) => e)) as ProviderError;
    expect(text).toMatchObject({ status: 503, message: 'upstream overloaded' });
    const json = (await adapter
      .send(request(false), target('json-error'), ctx)
      .catch((e: unknown) => e)) as ProviderError;
    expect(json).toMatchObject({ status: 404, message: 'No endpoints found' });
  });

  it('maps a refused connection to kind connect', async () => {
    const dead = await LoopbackServer.start(() => undefined);
    const url = dead.url('/v1/chat/completions');
    await dead.close();
    const err = (await adapter
      .send(request(true), { provider: { name: 'x', api_base_url: url, models: ['m'] }, model: 'm' }, ctx)
      .catch((e: unknown) => e)) as ProviderError;
    expect(err).toMatchObject({ kind: 'connect', status: 502, retryable: true });
  });

  it('ends a cut stream and a mid-stream error chunk with a terminal error event', async () => {
    const cut = await collectEvents(await adapter.send(request(true), target('cut'), ctx));
    expect(cut[cut.length - 1]).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(cut.map((e) => e.type)).not.toContain('message_stop');
    const failed = await collectEvents(await adapter.send(request(true), target('error-chunk'), ctx));
    expect(failed[failed.length - 1]).toEqual({ type: 'error', error: { type: 'api_error', message: 'x' } });
  });

  it('abort via signal mid-stream closes the upstream socket', async () => {
    const it = (await adapter.send(request(true), target('hang'), ctx))[Symbol.asyncIterator]();
    await it.next(); // message_start
    await it.next(); // content_block_start
    const closed = server.waitForAbortedResponse();
    ac.abort();
    await closed;
    let last: StreamEvent | undefined;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      last = r.value;
    }
    expect(last).toMatchObject({ type: 'error' });
  });

  it('a consumer that walks away (return) also closes the upstream socket', async () => {
    const events = await adapter.send(request(true), target('hang'), ctx);
    const closed = server.waitForAbortedResponse();
    for await (const ev of events) {
      if (ev.type === 'content_block_delta') {
        break;
      }
    }
    await closed;
    expect(server.abortedResponses).toBe(1);
  });

  it('applies the transformer chain to the body and the stream (maxtoken, customparams, enhancetool)', async () => {
    const t = target('sloppy-tools', {
      transformer: {
        use: [
          ['maxtoken', { max_tokens: 4096 }],
          ['customparams', { seed: 7 }],
        ],
        'sloppy-tools': { use: ['enhancetool'] },
      },
    });
    const events = await collectEvents(await adapter.send(request(true), t, ctx));
    expect(server.requests[0].json()).toMatchObject({ max_tokens: 4096, seed: 7 });
    expect(accumulateEvents(events).content).toEqual([
      { type: 'tool_use', id: 'call_1', name: 'add', input: { a: 2, b: 3 } },
    ]);
  });

  it('after [DONE] the keep-alive socket goes back to the pool', async () => {
    for (let i = 0; i < 2; i++) {
      const events = await collectEvents(await adapter.send(request(true), target(), ctx));
      expect(events[events.length - 1]).toEqual({ type: 'message_stop' });
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(server.connections).toBe(1);
  });

  it('an upstream that keeps the connection open after [DONE] does not hold the consumer', async () => {
    const started = Date.now();
    const events = await collectEvents(await adapter.send(request(true), target('done-then-hang'), ctx));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(accumulateEvents(events).content).toEqual([{ type: 'text', text: 'Hi' }]);
    await server.waitForAbortedResponse(); // the socket was given up, not leaked
  });

  it('transformers never mutate the canonical request (a failover reuses it)', async () => {
    const schema = { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: {} };
    const req = request(false, { tools: [{ name: 'add', input_schema: schema }] });
    const before = structuredClone(req);
    await collectEvents(await adapter.send(req, target('gpt-4o', { transformer: { use: ['groq'] } }), ctx));
    expect(server.requests[0].json().tools[0].function.parameters.$schema).toBeUndefined();
    expect(req).toEqual(before);
  });
});
