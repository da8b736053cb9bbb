import { request as httpRequest } from 'node:http';
import { startGateway, type GatewayUnderTest } from '../support/gateway';

type Ingress = 'anthropic' | 'openai';

interface Raw {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

const PATHS: Record<Ingress, string> = { anthropic: '/v1/messages', openai: '/v1/chat/completions' };
/** A stack frame, a source path or an internal error name must never reach a client. */
const LEAK = /\n\s+at |\.ts:\d+|node_modules|TypeError|ReferenceError/;

async function post(gw: GatewayUnderTest, path: string, body: string): Promise<Raw> {
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body,
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** Asserts the error is in the ingress's own format, with the right status and type, and leaks nothing. */
function expectError(ingress: Ingress, res: Raw, status: number, type: string, mentions?: string): void {
  expect({ status: res.status, text: res.text }).toMatchObject({ status });
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.text).not.toMatch(LEAK);
  if (ingress === 'anthropic') {
    expect(res.body).toMatchObject({ type: 'error', error: { type, message: expect.any(String) } });
    expect(Object.keys(res.body.error).sort()).toEqual(['message', 'type']);
  } else {
    // `param` names the field a 400 is about (the one its message starts with), null when there is none.
    const param = res.body.error.param as string | null;
    expect(res.body).toEqual({ error: { message: expect.any(String), type, param, code: null } });
    expect(param === null || typeof param === 'string').toBe(true);
    if (param === null && status === 400) {
      expect(res.body.error.message).not.toMatch(/^[a-z_]+(\[\d+\]|\.[a-z_]+)*: /);
    } else if (param !== null) {
      expect(status).toBe(400);
      expect(res.body.error.message.startsWith(`${param}: `)).toBe(true);
    }
  }
  const message: string = ingress === 'anthropic' ? res.body.error.message : res.body.error.message;
  expect(message.length).toBeGreaterThan(0);
  if (mentions) {
    expect(message).toContain(mentions);
  }
}

const user = (content: unknown) => ({ role: 'user', content });
const valid: Record<Ingress, Record<string, unknown>> = {
  anthropic: { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [user('hi')] },
  openai: { model: 'gpt-4o', max_tokens: 64, messages: [user('hi')] },
};
const without = (o: Record<string, unknown>, key: string) =>
  Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

interface Row {
  name: string;
  body: string;
  status: number;
  type: string;
  /** Text the error message must mention. */
  mentions: string | null;
}

const row = (
  name: string,
  body: string,
  status: number,
  type: string,
  mentions: string | null = null,
): Row => ({
  name,
  body,
  status,
  type,
  mentions,
});

function rows(ingress: Ingress): Row[] {
  const ok = valid[ingress];
  const json = (o: unknown) => JSON.stringify(o);
  const shared: Row[] = [
    row('non-JSON body', '{"model": "x", oops', 400, 'invalid_request_error', 'JSON'),
    row('empty body', '', 400, 'invalid_request_error'),
    row('JSON array body', json([ok]), 400, 'invalid_request_error', 'JSON object'),
    row('JSON string body', json('hello'), 400, 'invalid_request_error'),
    row('missing model', json(without(ok, 'model')), 400, 'invalid_request_error', 'model'),
    row('missing messages', json(without(ok, 'messages')), 400, 'invalid_request_error', 'messages'),
    row('max_tokens "x"', json({ ...ok, max_tokens: 'x' }), 400, 'invalid_request_error', 'max_tokens'),
    row('max_tokens 0', json({ ...ok, max_tokens: 0 }), 400, 'invalid_request_error', 'max_tokens'),
    row('messages not an array', json({ ...ok, messages: 'hi' }), 400, 'invalid_request_error', 'messages'),
    row('content a number', json({ ...ok, messages: [user(42)] }), 400, 'invalid_request_error', 'content'),
    row('empty messages', json({ ...ok, messages: [] }), 400, 'invalid_request_error', 'messages'),
    row('model a number', json({ ...ok, model: 7 }), 400, 'invalid_request_error', 'model'),
    row('stream a string', json({ ...ok, stream: 'yes' }), 400, 'invalid_request_error', 'stream'),
    row(
      'temperature a string',
      json({ ...ok, temperature: 'hot' }),
      400,
      'invalid_request_error',
      'temperature',
    ),
    row('tools not an array', json({ ...ok, tools: 'x' }), 400, 'invalid_request_error', 'tools'),
    row(
      'unknown provider in provider,model',
      json({ ...ok, model: 'nowhere,m1' }),
      404,
      'not_found_error',
      'nowhere,m1',
    ),
  ];
  if (ingress === 'openai') {
    // Chat Completions defaults max_tokens (covered below); tool_calls is its own assistant field.
    const toolCalls = [user('hi'), { role: 'assistant', content: null, tool_calls: 'x' }];
    return [
      ...shared,
      row(
        'tool_calls not an array',
        json({ ...ok, messages: toolCalls }),
        400,
        'invalid_request_error',
        'tool_calls',
      ),
    ];
  }
  const noType = [user([{ text: 'typeless block' }])];
  return [
    ...shared,
    row('missing max_tokens', json(without(ok, 'max_tokens')), 400, 'invalid_request_error', 'max_tokens'),
    row(
      'empty string content',
      json({ ...ok, messages: [user('')] }),
      400,
      'invalid_request_error',
      'non-empty content',
    ),
    row(
      'empty block list',
      json({ ...ok, messages: [user([])] }),
      400,
      'invalid_request_error',
      'non-empty content',
    ),
    row(
      'a content block without type',
      json({ ...ok, messages: noType }),
      400,
      'invalid_request_error',
      'content',
    ),
  ];
}

/** Sends a body of `bytes` bytes with node:http so that an early 413 is read even while uploading. */
function postHuge(url: string, path: string, bytes: number): Promise<{ status: number; text: string }> {
  const filler = 'a'.repeat(bytes - 60);
  const body = `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"${filler}"}]}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    // The server may close its end once it has answered; that is not a test failure.
    req.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err),
    );
    req.end(body);
  });
}

describe('bad input', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw.stop();
  });

  describe.each<Ingress>(['anthropic', 'openai'])('%s ingress', (ingress) => {
    const path = PATHS[ingress];

    it.each(rows(ingress))('$name → $status $type', async ({ body, status, type, mentions }) => {
      const before = gw.fake.requests.length;
      expectError(ingress, await post(gw, path, body), status, type, mentions ?? undefined);
      expect(gw.fake.requests.length).toBe(before);
    });

    it('a 60 MB body → 413 request_too_large', async () => {
      const res = await postHuge(gw.url, path, 60 * 1024 * 1024);
      const parsed = JSON.parse(res.text);
      expectError(
        ingress,
        {
          status: res.status,
          headers: new Headers({ 'content-type': 'application/json' }),
          body: parsed,
          text: res.text,
        },
        413,
        'request_too_large',
      );
    });
  });

  it('Anthropic ingress: an orphan tool_result is forwarded and answered (the OpenAI conversion drops it)', async () => {
    const before = gw.fake.requests.length;
    const body = {
      ...valid.anthropic,
      messages: [
        user([
          { type: 'tool_result', tool_use_id: 'toolu_orphan', content: 'stale' },
          { type: 'text', text: 'go on' },
        ]),
      ],
    };
    const res = await post(gw, PATHS.anthropic, JSON.stringify(body));
    expect(res.status).toBe(200);
    expect(res.body.content[0].text).toBe('Hello from fake provider');
    const upstream = gw.fake.requests.slice(before);
    expect(upstream).toHaveLength(1);
    expect(JSON.stringify(upstream[0].body)).not.toContain('toolu_orphan');
    expect(upstream[0].body.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'go on' }] }]);
  });

  it('OpenAI ingress: an orphan tool message is forwarded and answered', async () => {
    const body = {
      ...valid.openai,
      messages: [{ role: 'tool', tool_call_id: 'call_orphan', content: 'stale' }, user('go on')],
    };
    const res = await post(gw, PATHS.openai, JSON.stringify(body));
    expect(res.status).toBe(200);
    expect(res.body.choices[0].message.content).toBe('Hello from fake provider');
    expect(JSON.stringify(gw.fake.requests.at(-1)?.body)).not.toContain('call_orphan');
  });

  it('OpenAI ingress: max_tokens is optional', async () => {
    const res = await post(gw, PATHS.openai, JSON.stringify(without(valid.openai, 'max_tokens')));
    expect(res.status).toBe(200);
    expect(res.body.choices[0].message.content).toBe('Hello from fake provider');
  });

  it.each([
    ['application/json', '{"model":"m","max_tokens":5,"messages":[],"__proto__":{"admin":true}}'],
    ['text/plain', '{"model":"m","max_tokens":5,"messages":[],"\\u005f_proto__":{"admin":true}}'],
    ['application/json', '{"model":"m","metadata":{"constructor":{"prototype":{"admin":true}}}}'],
  ])('a prototype-poisoning key (%s) → 400 in the client format, nothing upstream', async (type, body) => {
    const before = gw.fake.requests.length;
    for (const [ingress, path] of Object.entries(PATHS) as [Ingress, string][]) {
      const res = await fetch(`${gw.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      });
      const text = await res.text();
      expectError(
        ingress,
        { status: res.status, headers: res.headers, text, body: JSON.parse(text) },
        400,
        'invalid_request_error',
      );
      expect(text).toContain('__proto__');
    }
    expect(gw.fake.requests.length).toBe(before);
  });

  it.each([
    ['invalid JSON', '{"model":', 'JSON'],
    ['an array', '[1,2]', 'JSON object'],
    ['messages not an array', JSON.stringify({ model: 'claude-sonnet-4-5', messages: {} }), 'messages'],
  ])('count_tokens with %s → 400 invalid_request_error', async (_name, body, mentions) => {
    for (const path of ['/v1/messages/count_tokens', '/v1/messages/count_tokens?beta=true']) {
      expectError('anthropic', await post(gw, path, body), 400, 'invalid_request_error', mentions);
    }
  });

  it('after the whole matrix the gateway is alive and still answers', async () => {
    const live = await fetch(`${gw.url}/health/live`);
    expect(live.status).toBe(200);
    for (const ingress of ['anthropic', 'openai'] as const) {
      const res = await post(gw, PATHS[ingress], JSON.stringify(valid[ingress]));
      expect(res.status).toBe(200);
    }
    const count = await post(
      gw,
      '/v1/messages/count_tokens',
      JSON.stringify(without(valid.anthropic, 'max_tokens')),
    );
    expect(count.status).toBe(200);
    expect(count.body.input_tokens).toBeGreaterThan(0);
  });
});
