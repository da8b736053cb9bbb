import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { randomUUID } from 'node:crypto';
import { countTextTokens } from '../../src/protocol/tokens';
import { splitText } from '../fake-provider/behaviour';
import { startFakeProvider, type FakeBehaviour, type FakeProvider } from '../fake-provider';
import { eventually } from '../support/gateway';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * A streamed answer of plain text that breaks after its first event goes on on the next target of the chain
 * (docs/failover.md#stream-resume): the client sees one message, the fallback gets the partial text as an
 * assistant prefill. Every test has its own cutting primary (scores are per origin: a primary that keeps failing
 * is demoted) and asks for it explicitly (`provider,model`); `fallback.explicit` is the healthy fake.
 */

/** Six deltas, cut after three: the client has "Once upon a time " when the primary's connection ends. */
const PRIMARY_TEXT = 'Once upon a time there lived a fox';
const PARTIAL = splitText(PRIMARY_TEXT, 6).slice(0, 3).join('');
/** The fallback's continuation repeats the space the prefill had to leave out. */
const CONTINUATION = ' there lived a gateway that never dropped a stream.';
const FULL = `${PARTIAL}${CONTINUATION.slice(1)}`;
const CUT: Partial<FakeBehaviour> = { text: PRIMARY_TEXT, chunkCount: 6, fault: { type: 'cut' } };

const anthropicProvider = (name: string, fake: FakeProvider) => ({
  name,
  api_base_url: `${fake.url}/v1/messages`,
  api_key: `${name}-key`,
  models: ['m1'],
  transformer: { use: ['Anthropic'] },
});

const openaiProvider = (name: string, fake: FakeProvider) => ({
  name,
  api_base_url: `${fake.url}/v1/chat/completions`,
  api_key: `${name}-key`,
  models: ['m1'],
});

const baseConfig = (providers: Record<string, unknown>[], extra: Record<string, unknown> = {}) => ({
  Providers: providers,
  Router: { default: 'healthy,m1', longContextThreshold: 60000 },
  fallback: { explicit: ['healthy,m1'] },
  // Resume is opt-in (the default keeps the commit-point rule: a terminal error event).
  Failover: {
    health: { enabled: false },
    breaker: { consecutiveFailures: 1000, minRequests: 1000 },
    resume: { enabled: true, maxResumes: 1 },
  },
  Affinity: { enabled: false },
  ...extra,
});

/** Requests a fake saw whose user text contains `tag`. */
const seen = (fake: FakeProvider, tag: string) =>
  fake.requests.filter((r) => JSON.stringify(r.body?.messages ?? []).includes(tag));

async function streamAnthropic(app: TestApp, model: string, prompt: string) {
  const client = new Anthropic({ baseURL: app.url, apiKey: 'k', maxRetries: 0 });
  const stream = client.messages.stream({
    model,
    max_tokens: 256,
    messages: [{ role: 'user', content: prompt }],
  });
  const events: Anthropic.MessageStreamEvent[] = [];
  for await (const ev of stream) {
    events.push(ev);
  }
  return { events, message: await stream.finalMessage() };
}

/** Raw SSE over fetch: the headers (x-switchyard-*) and every event as sent. */
async function streamRaw(app: TestApp, model: string, prompt: string) {
  const res = await fetch(`${app.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model,
      max_tokens: 256,
      stream: true,
      messages: [{ role: 'user', content: prompt }],
    }),
  });
  const body = await res.text();
  const events = body
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)) as { type: string; delta?: { text?: string } });
  const text = events.map((e) => (e.type === 'content_block_delta' ? (e.delta?.text ?? '') : '')).join('');
  return { res, events, text };
}

describe('stream resume: a streamed answer broken after its first event continues on the next target', () => {
  let healthy: FakeProvider;
  const primaries: Record<string, FakeProvider> = {};
  let app: TestApp;

  beforeAll(async () => {
    healthy = await startFakeProvider({
      defaults: { text: CONTINUATION, chunkCount: 3, usage: { input: 999, output: 7 } },
    });
    const cutting = {
      text: CUT,
      tool: {
        ...CUT,
        text: 'Let me check.',
        chunkCount: 1,
        toolCall: { name: 'lookup', arguments: { q: 'weather' } },
      },
      openai: CUT,
      cache: CUT,
      dedup: { ...CUT, chunkGapMs: 150 },
      overloaded: {
        ...CUT,
        fault: { type: 'stream-error', errorType: 'overloaded_error', message: 'Overloaded' },
      },
      stall: { ...CUT, fault: { type: 'stall-after-first-byte' } },
    } satisfies Record<string, Partial<FakeBehaviour>>;
    for (const [name, defaults] of Object.entries(cutting)) {
      primaries[name] = await startFakeProvider({ defaults });
    }
    app = await startTestApp({
      userConfig: baseConfig(
        [
          ...Object.entries(primaries).map(([name, fake]) => anthropicProvider(name, fake)),
          openaiProvider('openai', primaries.openai),
          anthropicProvider('healthy', healthy),
        ],
        { AdaptiveTimeout: { idle: { minMs: 300, maxMs: 600 } } },
      ),
    });
  });
  afterAll(async () => {
    await app.close();
    await Promise.all([healthy, ...Object.values(primaries)].map((f) => f.close()));
  });

  it('Anthropic SDK: one message with the partial text and its continuation, no error', async () => {
    const prompt = `tell me a story ${randomUUID()}`;
    const { events, message } = await streamAnthropic(app, 'text,m1', prompt);

    expect(message.content).toEqual([expect.objectContaining({ type: 'text', text: FULL })]);
    expect(message.stop_reason).toBe('end_turn');
    expect(events.filter((e) => e.type === 'message_start')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'message_stop')).toEqual([{ type: 'message_stop' }]); // no internal marker
    expect(events.filter((e) => e.type === 'content_block_start')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'message_delta')).toHaveLength(1);
    // Input as the client's request cost it; output: what the primary streamed plus the continuation.
    expect(message.usage.input_tokens).toBe(10);
    expect(message.usage.output_tokens).toBe(countTextTokens(PARTIAL) + 7);

    // The primary was cut; the fallback got the original request plus the partial text as a prefill.
    expect(seen(primaries.text, prompt)).toHaveLength(1);
    const [continued] = seen(healthy, prompt);
    expect(continued.stream).toBe(true);
    expect(continued.body.messages).toEqual([
      { role: 'user', content: prompt },
      { role: 'assistant', content: [{ type: 'text', text: PARTIAL.trimEnd() }] },
    ]);

    const line = app.logs.records.find((r) => r.msg === 'stream resumed');
    expect(line).toMatchObject({
      from: 'text,m1',
      to: 'healthy,m1',
      reason: 'api_error',
      chars: PARTIAL.length,
    });
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/switchyard_stream_resumes_total\{outcome="resumed"\} [1-9]/);
  });

  it.each([
    ['an in-band overloaded_error event', 'overloaded', 'overloaded_error', PARTIAL],
    ['an idle stall (idle deadline)', 'stall', 'timeout_error', splitText(PRIMARY_TEXT, 6)[0]],
  ])('resumes after %s', async (_what, primary, reason, partial) => {
    const prompt = `story after ${primary} ${randomUUID()}`;
    const { events, message } = await streamAnthropic(app, `${primary},m1`, prompt);
    expect(message.content).toEqual([
      expect.objectContaining({ type: 'text', text: `${partial}${CONTINUATION.slice(1)}` }),
    ]);
    expect(events.filter((e) => e.type === 'message_stop')).toHaveLength(1);
    expect(seen(healthy, prompt)[0].body.messages.at(-1)).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: partial.trimEnd() }],
    });
    expect(
      app.logs.records.find((r) => r.msg === 'stream resumed' && r.from === `${primary},m1`),
    ).toMatchObject({
      reason,
    });
  });

  it('a tool call started before the break: the terminal error as before', async () => {
    const prompt = `call a tool ${randomUUID()}`;
    await expect(streamAnthropic(app, 'tool,m1', prompt)).rejects.toThrow(/ended before message_stop/);
    expect(seen(healthy, prompt)).toHaveLength(0);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/switchyard_stream_resumes_total\{outcome="refused"\} [1-9]/);
  });

  it('OpenAI SDK on /v1/chat/completions: one completion stream, no error chunk', async () => {
    const client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: 'k', maxRetries: 0 });
    const prompt = `openai story ${randomUUID()}`;
    const stream = await client.chat.completions.create({
      model: 'openai,m1',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: prompt }],
    });
    let content = '';
    const finishes: string[] = [];
    const ids = new Set<string>();
    for await (const chunk of stream) {
      ids.add(chunk.id);
      content += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.choices[0]?.finish_reason) {
        finishes.push(chunk.choices[0].finish_reason);
      }
    }
    expect(content).toBe(FULL);
    expect(finishes).toEqual(['stop']);
    expect(ids.size).toBe(1);
    // The OpenAI-kind primary was cut too; the fallback saw the prefill.
    expect(seen(primaries.openai, prompt)).toHaveLength(1);
    expect(seen(healthy, prompt)[0].body.messages.at(-1)).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: PARTIAL.trimEnd() }],
    });
  });

  it('a resumed answer is not cached: the same request again is a MISS', async () => {
    const prompt = `cache me not ${randomUUID()}`;
    const first = await streamRaw(app, 'cache,m1', prompt);
    expect(first.res.headers.get('x-switchyard-cache')).toBe('MISS');
    expect(first.text).toBe(FULL);
    // Control: an answer that did not need a resume is stored and served.
    const control = `cache me ${randomUUID()}`;
    await streamRaw(app, 'healthy,m1', control);
    await eventually(
      async () =>
        (await streamRaw(app, 'healthy,m1', control)).res.headers.get('x-switchyard-cache') === 'HIT',
    );

    const again = await streamRaw(app, 'cache,m1', prompt);
    expect(again.res.headers.get('x-switchyard-cache')).toBe('MISS');
    expect(again.text).toBe(FULL);
    expect(seen(primaries.cache, prompt)).toHaveLength(2);
  });

  it('dedup followers get the spliced stream too', async () => {
    const prompt = `shared story ${randomUUID()}`;
    const [a, b] = await Promise.all([
      streamRaw(app, 'dedup,m1', prompt),
      new Promise((r) => setTimeout(r, 50)).then(() => streamRaw(app, 'dedup,m1', prompt)),
    ]);
    expect([a.res.headers.get('x-switchyard-dedup'), b.res.headers.get('x-switchyard-dedup')].sort()).toEqual(
      ['follower', 'leader'],
    );
    for (const answer of [a, b]) {
      expect(answer.text).toBe(FULL);
      expect(answer.events.filter((e) => e.type === 'message_stop')).toHaveLength(1);
      expect(answer.events.some((e) => e.type === 'error')).toBe(false);
    }
    expect(seen(primaries.dedup, prompt)).toHaveLength(1);
    expect(seen(healthy, prompt)).toHaveLength(1);
  });
});

describe('stream resume off (Failover.resume.enabled: false)', () => {
  let healthy: FakeProvider;
  let cutting: FakeProvider;
  let app: TestApp;

  beforeAll(async () => {
    healthy = await startFakeProvider({ defaults: { text: CONTINUATION } });
    cutting = await startFakeProvider({ defaults: CUT });
    app = await startTestApp({
      userConfig: baseConfig([anthropicProvider('cutting', cutting), anthropicProvider('healthy', healthy)], {
        Failover: {
          health: { enabled: false },
          breaker: { consecutiveFailures: 1000, minRequests: 1000 },
          resume: { enabled: false, maxResumes: 1 },
        },
      }),
    });
  });
  afterAll(async () => {
    await app.close();
    await Promise.all([healthy.close(), cutting.close()]);
  });

  it('the stream started on the primary ends with an error event', async () => {
    const prompt = `no resume ${randomUUID()}`;
    const raw = await streamRaw(app, 'cutting,m1', prompt);
    expect(raw.text).toBe(PARTIAL);
    expect(raw.events[raw.events.length - 1]).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    await expect(streamAnthropic(app, 'cutting,m1', `${prompt} sdk`)).rejects.toThrow();
    expect(seen(healthy, prompt)).toHaveLength(0);
  });
});

describe('stream resume through the BullMQ queue relay (real Redis)', () => {
  let healthy: FakeProvider;
  let cutting: FakeProvider;
  let app: TestApp;

  beforeAll(async () => {
    healthy = await startFakeProvider({ defaults: { text: CONTINUATION } });
    cutting = await startFakeProvider({ defaults: CUT });
    app = await startTestApp({
      userConfig: baseConfig([anthropicProvider('cutting', cutting), anthropicProvider('healthy', healthy)], {
        Redis: {
          enabled: true,
          url: process.env.TEST_REDIS_URL,
          keyPrefix: `tsr${randomUUID().slice(0, 8)}:`,
        },
        JobQueue: { enabled: true, prefix: 'q' },
        Cache: { enabled: false },
      }),
    });
    await eventually(async () => {
      const res = await fetch(`${app.url}/api/queue`);
      return ((await res.json()) as { mode?: string }).mode === 'bullmq';
    }, 10_000);
  });
  afterAll(async () => {
    await app.close();
    await Promise.all([healthy.close(), cutting.close()]);
  });

  it('a worker resumes the answer; the relayed stream is the spliced one', async () => {
    const prompt = `queued story ${randomUUID()}`;
    const { events, message } = await streamAnthropic(app, 'cutting,m1', prompt);
    expect(message.content).toEqual([expect.objectContaining({ type: 'text', text: FULL })]);
    expect(events.filter((e) => e.type === 'message_stop')).toHaveLength(1);
    expect(seen(cutting, prompt)).toHaveLength(1);
    expect(seen(healthy, prompt)).toHaveLength(1);
  });
});
