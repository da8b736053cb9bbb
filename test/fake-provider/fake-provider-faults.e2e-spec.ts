import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { request } from 'undici';
import { startFakeProvider, type FakeProvider } from './index';
import {
  anthropicBody,
  dataLines,
  directive,
  jsonChunks,
  openaiBody,
  rawPost,
  sseEvents,
} from './spec-helpers';

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fake provider: faults', () => {
  let fake: FakeProvider;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    fake = await startFakeProvider();
    openai = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'test', maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: fake.url, apiKey: 'test', maxRetries: 0 });
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  describe('status', () => {
    it('answers 429 + retry-after in OpenAI format', async () => {
      fake.configure({ fault: { type: 'status', status: 429, retryAfter: 7 } });
      const err = await openai.chat.completions
        .create({ model: 'm', messages: [{ role: 'user', content: 'Hi' }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      const e = err as InstanceType<typeof OpenAI.RateLimitError>;
      expect(e.headers.get('retry-after')).toBe('7');
      expect(e.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null });
      expect(fake.requests[0]).toMatchObject({ status: 429, fault: 'status' });
    });

    it('answers a prompt-directed 529 in Anthropic format, also for stream:true', async () => {
      const content = `Hi ${directive({ fault: { type: 'status', status: 529, retryAfter: 2 } })}`;
      const err = await anthropic.messages
        .create({ ...anthropicBody(content), stream: true } as any)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.APIError);
      const e = err as InstanceType<typeof Anthropic.APIError>;
      expect(e.status).toBe(529);
      expect(e.headers?.get('retry-after')).toBe('2');
      expect(e.error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    });

    it('answers Gemini errors as google.rpc.Status and sends a custom body verbatim', async () => {
      const gemini = await rawPost(fake.url, '/v1beta/models/gemini-2.5-flash:generateContent', {
        contents: [
          { role: 'user', parts: [{ text: directive({ fault: { type: 'status', status: 429 } }) }] },
        ],
      });
      expect(gemini.status).toBe(429);
      expect(JSON.parse(gemini.text)).toMatchObject({ error: { code: 429, status: 'RESOURCE_EXHAUSTED' } });
      const custom = await rawPost(fake.url, '/v1/chat/completions', openaiBody('Hi'), {
        'x-fake-behaviour': JSON.stringify({
          fault: { type: 'status', status: 503, body: { error: { message: 'custom' } } },
        }),
      });
      expect(custom.status).toBe(503);
      expect(custom.headers['retry-after']).toBeUndefined();
      expect(JSON.parse(custom.text)).toEqual({ error: { message: 'custom' } });
    });
  });

  describe('connection faults', () => {
    it('refuse: destroys new connections before any request is read', async () => {
      const refusing = await startFakeProvider({ defaults: { fault: { type: 'refuse' } } });
      try {
        const client = new OpenAI({ baseURL: `${refusing.url}/v1`, apiKey: 'test', maxRetries: 0 });
        const err = await client.chat.completions
          .create({ model: 'm', messages: [{ role: 'user', content: 'Hi' }] })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OpenAI.APIConnectionError);
        expect(refusing.refusedConnections()).toBeGreaterThanOrEqual(1);
        expect(refusing.count()).toBe(0);
      } finally {
        await refusing.close();
      }
    });

    it('reset: reads the request, then resets the socket before headers', async () => {
      const err = await rawPost(
        fake.url,
        '/v1/messages',
        anthropicBody(directive({ fault: { type: 'reset' } })),
      ).catch((e: unknown) => e);
      // undici errors come from another realm under jest: check the code, not the class.
      expect((err as { code?: string }).code).toMatch(/ECONNRESET|UND_ERR_SOCKET/);
      await fake.waitFor((r) => r[0]?.finishedAt !== undefined);
      expect(fake.requests[0]).toMatchObject({ fault: 'reset', closedByClient: false });
      expect(fake.requests[0].status).toBeUndefined();
      expect(fake.requests[0].body.messages).toHaveLength(1);
      const sdkErr = await anthropic.messages
        .create(anthropicBody(directive({ fault: { type: 'reset' } })) as any)
        .catch((e: unknown) => e);
      expect(sdkErr).toBeInstanceOf(Anthropic.APIConnectionError);
    });

    it('hang: never answers; a client abort is recorded within 100 ms', async () => {
      fake.configure({ fault: { type: 'hang' } });
      const ac = new AbortController();
      const pending = anthropic.messages
        .create(anthropicBody('Hi') as any, { signal: ac.signal })
        .catch((e: unknown) => e);
      await fake.waitFor((r) => r.length === 1 && r[0].body !== undefined);
      await delay(100);
      expect(fake.inFlight()).toBe(1);
      const abortedAt = Date.now();
      ac.abort();
      expect(await pending).toBeInstanceOf(Anthropic.APIUserAbortError);
      await fake.waitFor((r) => r[0].closedByClient, 1000);
      expect(fake.requests[0].clientClosedAt! - abortedAt).toBeLessThan(100);
      expect(fake.requests[0].status).toBeUndefined();
      expect(fake.inFlight()).toBe(0);
    });

    it('close() ends hanging requests without calling them client closes', async () => {
      const own = await startFakeProvider({ defaults: { fault: { type: 'hang' } } });
      const pending = rawPost(own.url, '/v1/chat/completions', openaiBody('Hi')).catch((e: unknown) => e);
      await own.waitFor((r) => r.length === 1 && r[0].body !== undefined);
      const started = Date.now();
      await own.close();
      expect(Date.now() - started).toBeLessThan(1000);
      expect((await pending) as { code?: string }).toHaveProperty('code');
      expect(own.requests[0].closedByClient).toBe(false);
    });
  });

  describe('stream faults', () => {
    it('stall-after-first-byte: headers and the first delta, then silence until the client aborts', async () => {
      fake.configure({ fault: { type: 'stall-after-first-byte' } });
      const ac = new AbortController();
      const res = await request(`${fake.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...anthropicBody('Hi'), stream: true }),
        signal: ac.signal,
      });
      expect(res.statusCode).toBe(200);
      const it = res.body[Symbol.asyncIterator]();
      const first = String((await it.next()).value);
      expect(sseEvents(first).map((e) => e.event)).toEqual([
        'message_start',
        'ping',
        'content_block_start',
        'content_block_delta',
      ]);
      const next = await Promise.race([it.next().then(() => 'data'), delay(200).then(() => 'silence')]);
      expect(next).toBe('silence');
      ac.abort();
      await fake.waitFor((r) => r[0].closedByClient, 1000);
      expect(fake.inFlight()).toBe(0);
    });

    it('cut: OpenAI stream ends without finish_reason or [DONE]', async () => {
      fake.configure({ fault: { type: 'cut' }, chunkCount: 4, text: 'abcdefgh' });
      const raw = await rawPost(
        fake.url,
        '/v1/chat/completions',
        openaiBody('Hi', { stream: true, stream_options: { include_usage: true } }),
      );
      expect(raw.status).toBe(200);
      const chunks = jsonChunks(raw.text);
      expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('abcd');
      expect(chunks.every((c) => c.choices[0].finish_reason === null)).toBe(true);
      expect(dataLines(raw.text)).not.toContain('[DONE]');
      expect(fake.requests[0]).toMatchObject({ closedByClient: false, fault: 'cut' });
    });

    it('cut: Anthropic stream ends inside a content block (no message_delta / message_stop)', async () => {
      const raw = await rawPost(fake.url, '/v1/messages', {
        ...anthropicBody(directive({ fault: { type: 'cut' } })),
        stream: true,
      });
      const names = sseEvents(raw.text).map((e) => e.event);
      expect(names.at(-1)).toBe('content_block_delta');
      expect(names).not.toContain('message_delta');
      expect(names).not.toContain('message_stop');
    });

    it('malformed: one broken JSON chunk mid-stream, the rest intact', async () => {
      fake.configure({ fault: { type: 'malformed' }, chunkCount: 4 });
      const raw = await rawPost(fake.url, '/v1/chat/completions', openaiBody('Hi', { stream: true }));
      const lines = dataLines(raw.text);
      const broken = lines.filter((l) => {
        try {
          JSON.parse(l === '[DONE]' ? '0' : l);
          return false;
        } catch {
          return true;
        }
      });
      expect(broken).toHaveLength(1);
      expect(lines.indexOf(broken[0])).toBeGreaterThan(1);
      expect(lines.at(-1)).toBe('[DONE]');
      const anthropicRaw = await rawPost(fake.url, '/v1/messages', { ...anthropicBody('Hi'), stream: true });
      expect(() => sseEvents(anthropicRaw.text)).toThrow();
      const nonStream = await rawPost(fake.url, '/v1/messages', anthropicBody('Hi'));
      expect(nonStream.status).toBe(200);
      expect(() => JSON.parse(nonStream.text) as unknown).toThrow();
    });

    it('missing-done: finish and usage arrive but no [DONE]; the SDK still finishes', async () => {
      fake.configure({ fault: { type: 'missing-done' } });
      const body = openaiBody('Hi', { stream: true, stream_options: { include_usage: true } });
      const raw = await rawPost(fake.url, '/v1/chat/completions', body);
      const chunks = jsonChunks(raw.text);
      expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
      expect(chunks.at(-1).usage.completion_tokens).toBe(20);
      expect(dataLines(raw.text)).not.toContain('[DONE]');
      const final = await openai.chat.completions.stream(body as any).finalChatCompletion();
      expect(final.choices[0].message.content).toBe('Hello from fake provider');
    });

    it('stream-error: in-band error the SDKs throw', async () => {
      fake.configure({ fault: { type: 'stream-error', message: 'upstream blew up' } });
      const oErr = await openai.chat.completions
        .stream(openaiBody('Hi') as any)
        .finalChatCompletion()
        .catch((e: unknown) => e);
      expect(oErr).toBeInstanceOf(OpenAI.APIError);
      expect((oErr as Error).message).toContain('upstream blew up');
      const raw = await rawPost(fake.url, '/v1/messages', { ...anthropicBody('Hi'), stream: true });
      const events = sseEvents(raw.text);
      expect(events.at(-1)).toEqual({
        event: 'error',
        data: { type: 'error', error: { type: 'overloaded_error', message: 'upstream blew up' } },
      });
      const aErr = await anthropic.messages
        .stream(anthropicBody('Hi') as any)
        .finalMessage()
        .catch((e: unknown) => e);
      expect(aErr).toBeInstanceOf(Anthropic.APIError);
    });

    it('non-stream cut: a truncated JSON body the SDK cannot parse', async () => {
      fake.configure({ fault: { type: 'cut' } });
      const raw = await rawPost(fake.url, '/v1/chat/completions', openaiBody('Hi'));
      expect(raw.status).toBe(200);
      expect(raw.text.startsWith('{"id":"chatcmpl-')).toBe(true);
      expect(() => JSON.parse(raw.text) as unknown).toThrow();
    });
  });
});
