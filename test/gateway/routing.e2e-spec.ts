import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordedRequest } from '../fake-provider';
import { startGateway, type GatewayUnderTest } from '../support/gateway';

interface Reply {
  status: number;
  route: string | null;
  target: string | null;
  body: any;
}

async function send(
  gw: GatewayUnderTest,
  body: unknown,
  headers: Record<string, string> = {},
  path = '/v1/messages',
): Promise<Reply> {
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // SSE answers stay text
  }
  return {
    status: res.status,
    route: res.headers.get('x-switchyard-route'),
    target: res.headers.get('x-switchyard-target'),
    body: parsed,
  };
}

const msg = (text: string, extra: Record<string, unknown> = {}) => ({
  model: 'claude-sonnet-4-5',
  max_tokens: 256,
  messages: [{ role: 'user', content: text }],
  ...extra,
});

/** The one upstream request the gateway made since `before` (the fake's log is append-only). */
function upstreamSince(gw: GatewayUnderTest, before: number): RecordedRequest {
  const made = gw.fake.requests.slice(before);
  expect(made).toHaveLength(1);
  return made[0];
}

async function expectRoute(
  gw: GatewayUnderTest,
  body: unknown,
  scenario: string,
  target: string,
  model: string,
) {
  const before = gw.fake.requests.length;
  const reply = await send(gw, body);
  expect(reply.status).toBe(200);
  expect([reply.route, reply.target]).toEqual([scenario, target]);
  const upstream = upstreamSince(gw, before);
  expect(upstream.model).toBe(model);
  return { reply, upstream };
}

const IMAGE = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } };
const TAG = '<CCR-SUBAGENT-MODEL>gemini,gemini-fake</CCR-SUBAGENT-MODEL>';

describe('routing scenarios through HTTP', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw.stop();
  });

  it('routes a plain request to the default slot (openai kind)', async () => {
    const { reply, upstream } = await expectRoute(gw, msg('hello'), 'default', 'openai,gpt-fake', 'gpt-fake');
    expect(upstream.api).toBe('openai');
    expect(reply.body.content[0].text).toBe('Hello from fake provider');
  });

  it('routes the real Claude Code say-hi request (thinking adaptive) to think', async () => {
    const fixture = JSON.parse(readFileSync(join(__dirname, '../fixtures/claude-code/say-hi.json'), 'utf8'));
    expect(fixture.body.thinking).toEqual({ type: 'adaptive' });
    const before = gw.fake.requests.length;
    const reply = await send(gw, fixture.body, { authorization: 'Bearer test' }, '/v1/messages?beta=true');
    expect(reply.status).toBe(200);
    expect([reply.route, reply.target]).toEqual(['think', 'anthropic,claude-fake']);
    expect(String(reply.body)).toContain('event: message_stop');
    const upstream = upstreamSince(gw, before);
    expect([upstream.api, upstream.model]).toEqual(['anthropic', 'claude-fake']);
  });

  it('routes a haiku model to background', async () => {
    await expectRoute(
      gw,
      msg('title?', { model: 'claude-haiku-4-5-20251001' }),
      'background',
      'openai,haiku-fake',
      'haiku-fake',
    );
  });

  it('routes a request with a web_search tool to webSearch (gemini kind)', async () => {
    const tools = [{ type: 'web_search_20250305', name: 'web_search', max_uses: 2 }];
    const { upstream } = await expectRoute(
      gw,
      msg('news?', { tools }),
      'webSearch',
      'gemini,gemini-fake',
      'gemini-fake',
    );
    expect(upstream.api).toBe('gemini');
  });

  it('routes an OpenAI client with web_search_options to webSearch (Google Search on the gemini kind)', async () => {
    const before = gw.fake.requests.length;
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'k' });
    const { data, response } = await openai.chat.completions
      .create({
        model: 'gpt-4o-search-preview',
        messages: [{ role: 'user', content: 'news today?' }],
        web_search_options: { search_context_size: 'low' },
      })
      .withResponse();
    expect(response.headers.get('x-switchyard-route')).toBe('webSearch');
    expect(response.headers.get('x-switchyard-target')).toBe('gemini,gemini-fake');
    expect(data.choices[0].message.content).toBeTruthy();
    const upstream = upstreamSince(gw, before);
    expect(upstream.api).toBe('gemini');
    expect((upstream.body as { tools?: unknown[] }).tools).toEqual([{ googleSearch: {} }]);
  });

  it('routes enabled thinking to think', async () => {
    const thinking = { type: 'enabled', budget_tokens: 1024 };
    await expectRoute(
      gw,
      msg('ponder', { thinking, max_tokens: 4096 }),
      'think',
      'anthropic,claude-fake',
      'claude-fake',
    );
  });

  it('routes an image in the last user turn to image', async () => {
    const body = {
      ...msg(''),
      messages: [{ role: 'user', content: [IMAGE, { type: 'text', text: 'what is it?' }] }],
    };
    await expectRoute(gw, body, 'image', 'anthropic,claude-fake', 'claude-fake');
  });

  it('routes a Claude Code turn (thinking adaptive) whose Read tool returned an image to image, as CCR does', async () => {
    const fixture = JSON.parse(readFileSync(join(__dirname, '../fixtures/claude-code/say-hi.json'), 'utf8'));
    const body = {
      ...fixture.body,
      stream: false,
      messages: [
        ...fixture.body.messages,
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01', name: 'Read', input: { file_path: 'a.png' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: [IMAGE] }] },
      ],
    };
    expect(body.thinking).toEqual({ type: 'adaptive' });
    await expectRoute(gw, body, 'image', 'anthropic,claude-fake', 'claude-fake');
  });

  it('honours an explicit provider,model (any case) over the other rules and strips [1m]', async () => {
    const body = msg('hi', { model: 'GEMINI,Gemini-Fake[1m]', thinking: { type: 'adaptive' } });
    await expectRoute(gw, body, 'explicit', 'gemini,gemini-fake', 'gemini-fake');
  });

  it('answers 404 not_found_error for an unknown explicit provider and makes no upstream call', async () => {
    const before = gw.fake.requests.length;
    const reply = await send(gw, msg('hi', { model: 'nowhere,some-model' }));
    expect(reply.status).toBe(404);
    expect(reply.body).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect(gw.fake.requests.length).toBe(before);
  });

  it('routes a subagent tag to its target and strips it from what the upstream receives', async () => {
    const body = msg('do the subtask', {
      model: 'claude-haiku-4-5',
      system: [{ type: 'text', text: `You are a subagent.\n${TAG}` }],
    });
    const { upstream } = await expectRoute(gw, body, 'subagent', 'gemini,gemini-fake', 'gemini-fake');
    const raw = JSON.stringify(upstream.body);
    expect(raw).not.toContain('CCR-SUBAGENT-MODEL');
    expect(raw).toContain('You are a subagent.');
  });

  it('ignores a subagent tag naming an unconfigured target, with a warning naming it', async () => {
    const body = msg('do the subtask', { system: 'Sub. <CCR-SUBAGENT-MODEL>gemini,gemnii-fake</CCR-SUBAGENT-MODEL>' });
    const { upstream } = await expectRoute(gw, body, 'default', 'openai,gpt-fake', 'gpt-fake');
    expect(JSON.stringify(upstream.body)).not.toContain('CCR-SUBAGENT-MODEL');
    const warning = gw.logs.records.find((l) => String(l.msg).includes('CCR-SUBAGENT-MODEL tag'));
    expect(warning).toMatchObject({ level: 40, tag: 'gemini,gemnii-fake', scenario: 'default' });
  });

  it('strips the tag from the body an openai-kind upstream receives when a stronger rule wins', async () => {
    const body = msg('hi', { model: 'openai,gpt-fake', system: `Plan. ${TAG}` });
    const { upstream } = await expectRoute(gw, body, 'explicit', 'openai,gpt-fake', 'gpt-fake');
    expect(JSON.stringify(upstream.body)).not.toContain('CCR-SUBAGENT-MODEL');
    expect(upstream.body.messages[0]).toMatchObject({ role: 'system', content: 'Plan.' });
  });

  it('reports the route to an Anthropic SDK client', async () => {
    const client = new Anthropic({ baseURL: gw.url, apiKey: 'test', maxRetries: 0 });
    const { data, response } = await client.messages
      .create({
        model: 'claude-3-5-haiku-latest',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'hi' }],
      })
      .withResponse();
    expect(response.headers.get('x-switchyard-route')).toBe('background');
    expect(data.content[0]).toMatchObject({ type: 'text', text: 'Hello from fake provider' });
  });
});

describe('long context and the session rule', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway({ router: { longContextThreshold: 50 } });
  });
  afterAll(async () => {
    await gw.stop();
  });

  const big = 'the quick brown fox jumps over the lazy dog '.repeat(40);
  const userId = (session: string) =>
    JSON.stringify({ device_id: 'd', account_uuid: '', session_id: session });

  it('routes a request above the threshold to longContext', async () => {
    await expectRoute(gw, msg(big), 'longContext', 'openai,long-fake', 'long-fake');
  });

  it('applies the session rule only to a sizeable follow-up (CCR: previous turn long and this one > 20k tokens)', async () => {
    const session = await startGateway({ router: { longContextThreshold: 25_000 } });
    try {
      const meta = { metadata: { user_id: userId('s-long') } };
      // The rule reads the upstream's reported usage of the previous turn: the first turn reports 30k.
      const first = msg(`hello [[fake:{"usage":{"input":30000,"output":5}}]]`, meta);
      await expectRoute(session, first, 'default', 'openai,gpt-fake', 'gpt-fake');

      const sizeable = 'the quick brown fox jumps over the lazy dog '.repeat(2300);
      await expectRoute(session, msg(sizeable, meta), 'longContext', 'openai,long-fake', 'long-fake');
      // A small side request of the same session is not dragged along.
      await expectRoute(session, msg('ok', meta), 'default', 'openai,gpt-fake', 'gpt-fake');
      // The same sizeable request of another session is an ordinary one.
      await expectRoute(
        session,
        msg(sizeable, { metadata: { user_id: userId('s-other') } }),
        'default',
        'openai,gpt-fake',
        'gpt-fake',
      );
    } finally {
      await session.stop();
    }
  });
});

const CUSTOM_ROUTER = `
module.exports = async function router(req, config) {
  const text = JSON.stringify(req.body.messages);
  if (text.includes('CUSTOM_THROW')) {
    throw new Error('router exploded');
  }
  if (text.includes('CUSTOM_GEMINI')) {
    return 'gemini,gemini-fake';
  }
  if (text.includes('CUSTOM_LOG')) {
    req.log.info('custom router picked gemini');
    return 'gemini,gemini-fake';
  }
  if (text.includes('CUSTOM_SESSION') && req.sessionId === 'sess-7' && config.Router.default) {
    return 'anthropic,claude-fake';
  }
  return null;
};
`;

describe('custom router (CUSTOM_ROUTER_PATH)', () => {
  let gw: GatewayUnderTest;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sy-router-'));
    const path = join(dir, 'router.js');
    writeFileSync(path, CUSTOM_ROUTER);
    gw = await startGateway({ config: { CUSTOM_ROUTER_PATH: path }, logLevel: 'warn' });
  });
  afterAll(async () => {
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uses the target it returns, with route "custom", over the built-in rules', async () => {
    const body = msg('CUSTOM_GEMINI please', { model: 'claude-haiku-4-5', thinking: { type: 'adaptive' } });
    await expectRoute(gw, body, 'custom', 'gemini,gemini-fake', 'gemini-fake');
  });

  it('receives the session id and the config', async () => {
    const body = msg('CUSTOM_SESSION', { metadata: { user_id: JSON.stringify({ session_id: 'sess-7' }) } });
    await expectRoute(gw, body, 'custom', 'anthropic,claude-fake', 'claude-fake');
  });

  it('falls back to the built-in rules when it returns null', async () => {
    await expectRoute(
      gw,
      msg('nothing special', { model: 'claude-haiku-4-5' }),
      'background',
      'openai,haiku-fake',
      'haiku-fake',
    );
  });

  it('gets req.log like a CCR router (a Fastify request) and may use it', async () => {
    await expectRoute(gw, msg('CUSTOM_LOG'), 'custom', 'gemini,gemini-fake', 'gemini-fake');
    expect(gw.logs.text).not.toContain('custom router failed');
  });

  it('falls back to the built-in rules when it throws, and the request still succeeds', async () => {
    const { reply } = await expectRoute(gw, msg('CUSTOM_THROW'), 'default', 'openai,gpt-fake', 'gpt-fake');
    expect(reply.body.content[0].text).toBe('Hello from fake provider');
    expect(gw.logs.text).toContain('router exploded');
  });
});
