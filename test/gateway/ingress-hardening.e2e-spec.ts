import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import * as anthropicToOpenAI from '../../src/protocol/anthropic-to-openai';
import * as passthrough from '../../src/protocol/anthropic-passthrough';
import * as geminiCodec from '../../src/providers/gemini/gemini.codec';
import { startGateway, type GatewayUnderTest } from '../support/gateway';

/** Internal exception text must never reach a client. */
const LEAK = /Cannot read properties|must be of type string|Maximum call stack|TypeError|RangeError|\n\s+at /;

const user = (content: unknown) => ({ role: 'user', content });
const toolTurns = (content: unknown) => [
  user('add 1 and 2'),
  { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'add', input: { a: 1, b: 2 } }] },
  user([{ type: 'tool_result', tool_use_id: 'toolu_1', content }]),
];
const ADD_TOOL = { name: 'add', input_schema: { type: 'object', properties: {} } };

function nested(levels: number): string {
  return `${'['.repeat(levels)}${']'.repeat(levels)}`;
}

async function circuitOf(gw: GatewayUnderTest, target: string): Promise<any> {
  const res = await fetch(`${gw.url}/api/providers`);
  const body = (await res.json()) as { targets: Array<{ target: string; circuit: unknown; stats: unknown }> };
  return body.targets.find((t) => t.target === target);
}

describe('ingress hardening', () => {
  let gw: GatewayUnderTest;
  let client: Anthropic;

  beforeAll(async () => {
    gw = await startGateway();
    // The SDK's default retries: a bad request must not be retried (4xx, or a 500 with x-should-retry: false).
    client = new Anthropic({ baseURL: gw.url, apiKey: 'k' });
  });
  afterAll(() => gw.stop());
  afterEach(() => jest.restoreAllMocks());

  describe('malformed bodies that used to crash the conversion → 400 naming the field', () => {
    const cases: Array<[string, string, Record<string, unknown>, string]> = [
      [
        'tool_choice {type:"tool"} without name',
        'openai,gpt-fake',
        { tools: [ADD_TOOL], tool_choice: { type: 'tool' }, messages: [user('hi')] },
        'tool_choice.name',
      ],
      [
        'tool_choice name null',
        'openai,gpt-fake',
        { tools: [ADD_TOOL], tool_choice: { type: 'tool', name: null }, messages: [user('hi')] },
        'tool_choice.name',
      ],
      [
        'tool_choice name 5',
        'openai,gpt-fake',
        { tools: [ADD_TOOL], tool_choice: { type: 'tool', name: 5 }, messages: [user('hi')] },
        'tool_choice.name',
      ],
      [
        'tool_result content [null]',
        'gemini,gemini-fake',
        { tools: [ADD_TOOL], messages: toolTurns([null]) },
        'messages[2].content[0].content[0]',
      ],
      [
        'tool_result content with an unknown item type',
        'gemini,gemini-fake',
        { tools: [ADD_TOOL], messages: toolTurns([{ type: 'bogus' }]) },
        'messages[2].content[0].content[0].type',
      ],
      [
        'tool_result content a number',
        'openai,gpt-fake',
        { tools: [ADD_TOOL], messages: toolTurns(5) },
        'messages[2].content[0].content',
      ],
      [
        'tools[].type not a string',
        'gemini,gemini-fake',
        { tools: [{ ...ADD_TOOL, type: 5 }], messages: [user('hi')] },
        'tools[0].type',
      ],
    ];

    it.each(cases)('%s (%s)', async (_name, model, body, field) => {
      const before = gw.fake.requests.length;
      const err = await client.messages.create({ model, max_tokens: 32, ...body } as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Anthropic.BadRequestError);
      const bad = err as InstanceType<typeof Anthropic.BadRequestError>;
      expect(bad.status).toBe(400);
      expect(bad.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      expect(bad.message).toContain(field);
      expect(bad.message).not.toMatch(LEAK);
      expect(gw.fake.requests.length).toBe(before);
    });

    it.each([
      ['metadata', (d: string) => `{"x":${d}}`],
      ['tools[0].input_schema', (d: string) => `{"type":"object","properties":{"x":${d}}}`],
      ['system', (d: string) => `[{"type":"text","text":"s","extra":${d}}]`],
      ['messages[0].content', (d: string) => `[{"type":"text","text":"s","extra":${d}}]`],
    ])('a body nested 100,000 levels deep in %s → 400 naming it', async (field, wrap) => {
      const deep = wrap(nested(100_000));
      const json =
        field === 'metadata'
          ? `{"model":"anthropic,claude-fake","max_tokens":8,"messages":[{"role":"user","content":"hi"}],"metadata":${deep}}`
          : field === 'system'
            ? `{"model":"anthropic,claude-fake","max_tokens":8,"messages":[{"role":"user","content":"hi"}],"system":${deep}}`
            : field === 'messages[0].content'
              ? `{"model":"anthropic,claude-fake","max_tokens":8,"messages":[{"role":"user","content":${deep}}]}`
              : `{"model":"anthropic,claude-fake","max_tokens":8,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"t","input_schema":${deep}}]}`;
      for (const path of ['/v1/messages', '/v1/messages/count_tokens']) {
        const res = await fetch(`${gw.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: json,
        });
        const body = (await res.json()) as { error: { type: string; message: string } };
        expect({ path, status: res.status }).toEqual({ path, status: 400 });
        expect(body.error.type).toBe('invalid_request_error');
        expect(body.error.message).toContain(field);
        expect(body.error.message).toContain('nested deeper than 64 levels');
      }
    });

    it.each(['auto', 'any', 'none'])(
      'tool_choice {type:"%s"} needs no name and is accepted',
      async (type) => {
        const msg = (await client.messages.create({
          model: 'openai,gpt-fake',
          max_tokens: 16,
          tools: [ADD_TOOL],
          tool_choice: { type },
          messages: [{ role: 'user', content: `choice ${type}` }],
        } as never)) as { type: string };
        expect(msg.type).toBe('message');
      },
    );

    it('a body at the depth bound still passes', async () => {
      // 64 levels below the body: metadata (1) + x (2) + 62 arrays.
      const json = `{"model":"openai,gpt-fake","max_tokens":8,"messages":[{"role":"user","content":"depth ok"}],"metadata":{"x":${nested(62)}}}`;
      const res = await fetch(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: json,
      });
      expect(res.status).toBe(200);
    });

    it('N bad requests do not open the circuit: an innocent request afterwards succeeds', async () => {
      for (const model of ['openai,gpt-fake', 'gemini,gemini-fake']) {
        for (let i = 0; i < 8; i++) {
          const err = await client.messages
            .create({
              model,
              max_tokens: 16,
              tools: [ADD_TOOL],
              tool_choice: { type: 'tool' },
              messages: toolTurns([null]),
            } as never)
            .then(
              () => undefined,
              (e: unknown) => e,
            );
          expect(err).toBeInstanceOf(Anthropic.BadRequestError);
        }
        const ok = await client.messages.create({
          model,
          max_tokens: 16,
          messages: [{ role: 'user', content: `innocent after bad input (${model})` }],
        });
        expect(ok.content[0]).toMatchObject({ type: 'text', text: 'Hello from fake provider' });
        expect((await circuitOf(gw, model)).circuit).toMatchObject({
          state: 'closed',
          window: { failures: 0 },
        });
      }
    });
  });

  describe('a user message that is only whitespace is never dropped silently', () => {
    const conversations: Array<[string, Array<{ role: 'user' | 'assistant'; content: string }>]> = [
      ['the only message', [{ role: 'user', content: '   ' }]],
      [
        'the last message',
        [
          { role: 'user', content: 'first' },
          { role: 'assistant', content: 'ok' },
          { role: 'user', content: ' \n ' },
        ],
      ],
    ];

    it.each(conversations)('%s: an OpenAI-compatible upstream gets it as sent', async (_name, messages) => {
      const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'k', maxRetries: 0 });
      const res = await openai.chat.completions.create({ model: 'openai,gpt-fake', messages });
      expect(res.choices[0].message.content).toBe('Hello from fake provider');
      const upstream = (
        gw.fake.requests.at(-1)?.body as { messages: Array<{ role: string; content: unknown }> }
      ).messages;
      expect(upstream.at(-1)).toEqual({ role: 'user', content: messages.at(-1)?.content });
      expect(upstream).toHaveLength(messages.length);
    });

    it.each(conversations)('%s: a Gemini upstream gets it as sent', async (_name, messages) => {
      const msg = await client.messages.create({ model: 'gemini,gemini-fake', max_tokens: 16, messages });
      expect(msg.content[0]).toMatchObject({ type: 'text' });
      const contents = (
        gw.fake.requests.at(-1)?.body as { contents: Array<{ role: string; parts: unknown }> }
      ).contents;
      expect(contents.at(-1)).toEqual({ role: 'user', parts: [{ text: messages.at(-1)?.content }] });
    });

    it.each(conversations)(
      '%s: an Anthropic-kind upstream would reject it, so the client gets 400 saying why (both ingresses)',
      async (_name, messages) => {
        const before = gw.fake.requests.length;
        const index = messages.length - 1;
        const err = await client.messages
          .create({ model: 'anthropic,claude-fake', max_tokens: 16, messages })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(err).toBeInstanceOf(Anthropic.BadRequestError);
        expect((err as Error).message).toContain(
          `messages[${index}]: text content blocks must contain non-whitespace text`,
        );
        const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'k' });
        const oerr = await openai.chat.completions.create({ model: 'anthropic,claude-fake', messages }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(oerr).toBeInstanceOf(OpenAI.BadRequestError);
        expect((oerr as InstanceType<typeof OpenAI.BadRequestError>).type).toBe('invalid_request_error');
        expect((oerr as Error).message).toContain('non-whitespace text');
        expect(gw.fake.requests.length).toBe(before);
      },
    );
  });

  describe('a conversion that throws anyway (defence in depth) → 500 api_error, not retried, neutral to the breaker', () => {
    const MARK = 'CRASH-THE-CONVERSION';
    const marked = (req: { messages?: unknown }): boolean =>
      JSON.stringify(req.messages ?? '').includes(MARK);
    const boom = (): never => {
      // What a real conversion bug looks like: a TypeError whose text names our internals.
      throw new TypeError("Cannot read properties of undefined (reading 'secretInternalField')");
    };

    const SPIES: Array<[string, string, () => jest.SpyInstance]> = [
      [
        'openai',
        'openai,gpt-fake',
        () => {
          const real = anthropicToOpenAI.anthropicToOpenAIRequest;
          return jest
            .spyOn(anthropicToOpenAI, 'anthropicToOpenAIRequest')
            .mockImplementation((req, opts) => (marked(req) ? boom() : real(req, opts)));
        },
      ],
      [
        'anthropic',
        'anthropic,claude-fake',
        () => {
          const real = passthrough.prepareAnthropicUpstream;
          return jest
            .spyOn(passthrough, 'prepareAnthropicUpstream')
            .mockImplementation((req, opts) => (marked(req) ? boom() : real(req, opts)));
        },
      ],
      [
        'gemini',
        'gemini,gemini-fake',
        () => {
          const real = geminiCodec.anthropicToGeminiRequest;
          return jest
            .spyOn(geminiCodec, 'anthropicToGeminiRequest')
            .mockImplementation((req, opts) => (marked(req) ? boom() : real(req, opts)));
        },
      ],
    ];

    it.each(SPIES)('%s kind', async (_kind, model, spyOn) => {
      const spy = spyOn();
      const before = gw.fake.requests.length;
      for (let i = 0; i < 8; i++) {
        const err = await client.messages
          .create({ model, max_tokens: 16, messages: [{ role: 'user', content: `${MARK} ${i}` }] })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(err).toBeInstanceOf(Anthropic.InternalServerError);
        const e = err as InstanceType<typeof Anthropic.InternalServerError>;
        expect(e.status).toBe(500);
        expect(e.error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
        expect(e.message).toContain('internal error converting the request');
        expect(e.message).not.toMatch(LEAK);
        expect(e.message).not.toContain('secretInternalField');
        expect(e.headers?.get('x-should-retry')).toBe('false');
      }
      // Not retried by the SDK (x-should-retry: false), not failed over, no upstream call.
      expect(spy.mock.calls.filter(([req]) => marked(req))).toHaveLength(8);
      expect(gw.fake.requests.length).toBe(before);

      const ok = await client.messages.create({
        model,
        max_tokens: 16,
        messages: [{ role: 'user', content: `innocent after a conversion bug (${model})` }],
      });
      expect(ok.content[0]).toMatchObject({ type: 'text', text: 'Hello from fake provider' });
      const status = await circuitOf(gw, model);
      expect(status.circuit).toMatchObject({ state: 'closed', window: { failures: 0 } });
      expect(JSON.stringify(status.stats)).not.toContain('internal error');
      // The full error is in the gateway's log, with its cause.
      expect(gw.logs.text).toContain('secretInternalField');
    });
  });
});
