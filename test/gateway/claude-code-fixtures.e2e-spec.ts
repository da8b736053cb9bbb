import Anthropic from '@anthropic-ai/sdk';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, type GatewayUnderTest } from '../support/gateway';

interface Capture {
  url: string;
  headers: Record<string, string>;
  body: Record<string, any>;
}

const load = (name: string): Capture =>
  JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'claude-code', name), 'utf8')) as Capture;

const FIXTURES = ['say-hi.json', 'tool-use-1-request.json', 'tool-use-2-tool-result.json'];
const KINDS = ['openai,gpt-fake', 'anthropic,claude-fake', 'gemini,gemini-fake'];

/**
 * The request bodies captured from the real Claude Code CLI, replayed byte for byte (headers included,
 * `?beta=true` URL) to each provider kind.
 */
describe('Claude Code captures through every provider kind', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.stop());

  const cases = FIXTURES.flatMap((f) => KINDS.map((k) => [f, k] as const));

  it.each(cases)('%s → %s', async (fixture, model) => {
    const capture = load(fixture);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(capture.headers)) {
      if (!['host', 'content-length', 'connection', 'accept-encoding'].includes(name.toLowerCase())) {
        headers[name] = value;
      }
    }
    const before = gw.fake.requests.length;
    const res = await fetch(`${gw.url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ ...capture.body, model }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text();
    expect(text.startsWith('event: message_start\n')).toBe(true);
    expect(text.trimEnd().endsWith('event: message_stop\ndata: {"type":"message_stop"}')).toBe(true);

    const upstream = gw.fake.requests[before];
    const body = upstream.body;
    const serialized = JSON.stringify(body);
    // Never forwarded to a third party: Claude Code's beta field and the routing tag.
    expect(serialized).not.toContain('context_management');
    expect(serialized).not.toContain('CCR-SUBAGENT-MODEL');
    if (model.startsWith('openai')) {
      expect(body.messages[0].role).toBe('system');
      expect(body.tools.length).toBe(capture.body.tools.length);
      for (const tool of body.tools) {
        expect(tool.function.name.length).toBeLessThanOrEqual(64);
        expect(tool.function.parameters).toMatchObject({ type: 'object', properties: expect.any(Object) });
      }
      expect(body.stream_options).toEqual({ include_usage: true });
      if (body.user !== undefined) {
        expect(body.user.length).toBeLessThanOrEqual(64);
      }
    } else if (model.startsWith('anthropic')) {
      expect(body.model).toBe('claude-fake');
      expect(body.messages.every((m: { role: string }) => m.role !== 'system')).toBe(true);
      expect(body.tools.length).toBe(capture.body.tools.length);
    } else {
      expect(body.systemInstruction.parts.length).toBeGreaterThan(0);
      expect(body.tools[0].functionDeclarations.length).toBe(capture.body.tools.length);
    }
    if (fixture === 'tool-use-2-tool-result.json' && model.startsWith('openai')) {
      expect(body.messages.some((m: { role: string }) => m.role === 'tool')).toBe(true);
    }
  });

  it('the non-stream fallback Claude Code uses after a stream error answers the same body', async () => {
    const capture = load('say-hi.json');
    // The SDK refuses a non-stream call with max_tokens 64000 client-side, so this one goes over fetch.
    const res = await fetch(`${gw.url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...capture.body, model: 'openai,gpt-fake', stream: false }),
    });
    expect(res.status).toBe(200);
    const msg = (await res.json()) as Anthropic.Message;
    expect(msg.type).toBe('message');
    expect(msg.content[0]).toMatchObject({ type: 'text' });
    expect(msg.stop_reason).toBe('end_turn');
  });
});
