import { startFakeProvider, type FakeProvider } from './index';
import { anthropicBody, directive, jsonChunks, openaiBody, rawGet, rawPost } from './spec-helpers';

describe('fake provider: behaviour control and bookkeeping', () => {
  let fake: FakeProvider;

  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  it('applies directive > header > configure() > defaults', async () => {
    fake.configure({ text: 'configured' });
    const ask = async (content: string, headers: Record<string, string> = {}) =>
      JSON.parse((await rawPost(fake.url, '/v1/messages', anthropicBody(content), headers)).text).content[0]
        .text;
    expect(await ask('Hi')).toBe('configured');
    const header = { 'x-fake-behaviour': JSON.stringify({ text: 'from header' }) };
    expect(await ask('Hi', header)).toBe('from header');
    expect(await ask(`Hi ${directive({ text: 'from directive' })}`, header)).toBe('from directive');
    fake.reset();
    expect(await ask('Hi')).toBe('Hello from fake provider');
  });

  it('reads directives from text blocks and OpenAI content parts, and rejects bad ones', async () => {
    const blocks = [
      { type: 'text', text: 'a' },
      { type: 'text', text: directive({ text: 'x]]y {z}' }) },
    ];
    expect(
      JSON.parse((await rawPost(fake.url, '/v1/messages', anthropicBody(blocks))).text).content[0].text,
    ).toBe('x]]y {z}');
    const parts = [{ type: 'text', text: directive({ text: 'part' }) }];
    expect(
      JSON.parse((await rawPost(fake.url, '/v1/chat/completions', openaiBody(parts))).text).choices[0].message
        .content,
    ).toBe('part');
    const bad = await rawPost(fake.url, '/v1/messages', anthropicBody('[[fake:{"text":]]'));
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error.type).toBe('invalid_request_error');
    const badHeader = await rawPost(fake.url, '/v1/chat/completions', openaiBody('Hi'), {
      'x-fake-behaviour': '{nope',
    });
    expect(badHeader.status).toBe(400);
    expect(JSON.parse(badHeader.text).error.message).toContain('x-fake-behaviour');
  });

  it('generates filler of textBytes and paces chunkCount deltas by chunkGapMs', async () => {
    fake.configure({ textBytes: 5000, chunkCount: 5, chunkGapMs: 40, firstByteDelayMs: 50 });
    const started = Date.now();
    const raw = await rawPost(fake.url, '/v1/chat/completions', openaiBody('Hi', { stream: true }));
    const elapsed = Date.now() - started;
    const text = jsonChunks(raw.text)
      .map((c) => c.choices[0]?.delta.content ?? '')
      .join('');
    expect(Buffer.byteLength(text)).toBe(5000);
    expect(jsonChunks(raw.text).filter((c) => c.choices[0]?.delta.content).length).toBe(5);
    expect(elapsed).toBeGreaterThanOrEqual(50 + 4 * 40 - 5);
  });

  it('draws first-byte latency from a log-normal profile', async () => {
    fake.configure({ firstByteProfile: { medianMs: 20, p95Ms: 40 } });
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 10 }, () => rawPost(fake.url, '/v1/messages', anthropicBody('Hi'))),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(5);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('counts, tracks in-flight requests and waits for them', async () => {
    fake.configure({ firstByteDelayMs: 150 });
    const pending = Promise.all(
      Array.from({ length: 6 }, () => rawPost(fake.url, '/v1/messages', anthropicBody('Hi'))),
    );
    await fake.waitFor((r) => r.length === 6, 2000);
    expect(fake.inFlight()).toBe(6);
    await pending;
    expect(fake.inFlight()).toBe(0);
    expect(fake.maxInFlight()).toBe(6);
    expect(fake.count({ api: 'anthropic', model: 'claude-sonnet-4-20250514' })).toBe(6);
    expect(fake.requests.every((r) => r.finishedAt! >= r.at && !r.closedByClient && r.status === 200)).toBe(
      true,
    );
    await expect(fake.waitFor(() => false, 50)).rejects.toThrow(/timed out/);
    fake.reset();
    expect(fake.count()).toBe(0);
    expect(fake.maxInFlight()).toBe(0);
  });

  it('keeps control calls out of the log and bounds the log', async () => {
    const small = await startFakeProvider({ maxRecorded: 3, recordBodies: false });
    try {
      expect(JSON.parse((await rawGet(small.url, '/__fake/health')).text)).toMatchObject({ ok: true });
      for (let i = 0; i < 5; i++) {
        await rawPost(small.url, '/v1/messages', anthropicBody(`n${i}`));
      }
      expect(small.requests.map((r) => r.seq)).toEqual([3, 4, 5]);
      expect(small.requests[0].body).toBeUndefined();
      expect((await rawGet(small.url, '/nope')).status).toBe(404);
      expect(small.requests.at(-1)).toMatchObject({ api: 'other', path: '/nope', status: 404 });
    } finally {
      await small.close();
    }
  });

  it('is reconfigurable over HTTP (/__fake/configure, /__fake/reset, /__fake/stats)', async () => {
    await rawPost(fake.url, '/__fake/configure', { text: 'remote', finish: 'length' });
    const msg = JSON.parse((await rawPost(fake.url, '/v1/messages', anthropicBody('Hi'))).text);
    expect(msg).toMatchObject({ content: [{ text: 'remote' }], stop_reason: 'max_tokens' });
    const completion = JSON.parse((await rawPost(fake.url, '/v1/chat/completions', openaiBody('Hi'))).text);
    expect(completion.choices[0].finish_reason).toBe('length');
    expect(JSON.parse((await rawGet(fake.url, '/__fake/stats')).text)).toMatchObject({
      requests: 2,
      anthropic: 1,
      openai: 1,
      inFlight: 0,
    });
    await rawPost(fake.url, '/__fake/reset', {});
    expect(fake.behaviour().text).toBeNull();
    expect(fake.count()).toBe(0);
  });
});
