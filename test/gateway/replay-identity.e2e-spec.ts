import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { randomUUID } from 'node:crypto';
import { eventually, startGateway, type GatewayUnderTest } from '../support/gateway';

/** Queue mode: every upstream call is a BullMQ job on the test Redis, its answer relayed back. */
async function startQueued(): Promise<GatewayUnderTest> {
  const gw = await startGateway({
    config: {
      Redis: { enabled: true, url: process.env.TEST_REDIS_URL, keyPrefix: `rid${randomUUID().slice(0, 8)}:` },
      JobQueue: { enabled: true, prefix: 'q' },
    },
  });
  await eventually(
    async () => ((await (await fetch(`${gw.url}/api/queue`)).json()) as { mode?: string }).mode === 'bullmq',
    10_000,
  );
  return gw;
}

/**
 * Answers replayed to another request — cache hits, coalesced followers — are that request's own: the
 * model it named (two aliases of one target share cache entries and in-flight calls) and an id of its own
 * (audit A-F2, O-F16), on both ingresses, stream and non-stream.
 */
describe.each([
  ['direct', () => startGateway()],
  ['queue mode (relayed by a worker)', startQueued],
])('%s: replayed answers carry the asking client model and a fresh id', (_mode, start) => {
  let gw: GatewayUnderTest;
  let anthropic: Anthropic;
  let openai: OpenAI;

  beforeAll(async () => {
    gw = await start();
    anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'client-key', maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
  });
  afterAll(() => gw.stop());

  // Both names route to Router.default (openai,gpt-fake): one cache key, one coalescing key.
  const X = 'claude-sonnet-4-5-20250929';
  const Y = 'my-alias-model';

  interface Seen {
    model: string;
    id: string;
    cache: string | null;
    dedup: string | null;
    /** x-switchyard-attempts: upstream calls this request made. */
    attempts: string | null;
    text: string;
  }

  async function askAnthropic(model: string, content: string, stream: boolean): Promise<Seen> {
    const params = { model, max_tokens: 64, messages: [{ role: 'user' as const, content }] };
    const { data, response } = stream
      ? await anthropic.messages
          .stream(params)
          .withResponse()
          .then(async ({ data, response }) => ({ data: await data.finalMessage(), response }))
      : await anthropic.messages.create(params).withResponse();
    const text = data.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    return {
      model: data.model,
      id: data.id,
      cache: response.headers.get('x-switchyard-cache'),
      dedup: response.headers.get('x-switchyard-dedup'),
      attempts: response.headers.get('x-switchyard-attempts'),
      text,
    };
  }

  async function askOpenAI(model: string, content: string, stream: boolean): Promise<Seen> {
    const messages = [{ role: 'user' as const, content }];
    if (stream) {
      const { data, response } = await openai.chat.completions
        .create({ model, messages, stream: true })
        .withResponse();
      let id = '';
      let answeredModel = '';
      let text = '';
      for await (const chunk of data) {
        id = chunk.id;
        answeredModel = chunk.model;
        text += chunk.choices[0]?.delta?.content ?? '';
      }
      return {
        model: answeredModel,
        id,
        cache: response.headers.get('x-switchyard-cache'),
        dedup: response.headers.get('x-switchyard-dedup'),
        attempts: response.headers.get('x-switchyard-attempts'),
        text,
      };
    }
    const { data, response } = await openai.chat.completions.create({ model, messages }).withResponse();
    return {
      model: data.model,
      id: data.id,
      cache: response.headers.get('x-switchyard-cache'),
      dedup: response.headers.get('x-switchyard-dedup'),
      attempts: response.headers.get('x-switchyard-attempts'),
      text: data.choices[0].message.content ?? '',
    };
  }

  const cases = [
    ['Anthropic SDK', 'non-stream', askAnthropic, false],
    ['Anthropic SDK', 'stream', askAnthropic, true],
    ['OpenAI SDK', 'non-stream', askOpenAI, false],
    ['OpenAI SDK', 'stream', askOpenAI, true],
  ] as const;

  it.each(cases)(
    '%s %s: a cache HIT asked as Y answers model Y with an id of its own',
    async (_sdk, _mode, ask, stream) => {
      const content = `replay identity ${randomUUID()}`;
      const first = await ask(X, content, stream);
      expect(first).toMatchObject({ model: X, cache: 'MISS', attempts: '1' });
      // The entry is written once the first answer is complete; wait until it is readable.
      let hit: Seen | undefined;
      await eventually(async () => {
        hit = await ask(Y, content, stream);
        return hit.cache === 'HIT';
      });
      expect(hit?.model).toBe(Y);
      expect(hit?.attempts).toBe('0'); // no upstream call made (A-F13)
      expect(hit?.text).toBe(first.text);
      expect(hit?.id).not.toBe(first.id);
      const again = await ask(Y, content, stream);
      expect(again.cache).toBe('HIT');
      expect(again.id).not.toBe(hit?.id); // every response its own id, not one per cache entry
    },
  );

  it.each(cases)(
    '%s %s: a coalesced follower asked as Y answers model Y with an id of its own',
    async (_sdk, _mode, ask, stream) => {
      // The fake holds its first byte long enough for the second request to join the first one's call.
      const content = `coalesced identity ${randomUUID()} [[fake:${JSON.stringify({ firstByteDelayMs: 400 })}]]`;
      const before = gw.fake.count();
      const [a, b] = await Promise.all([ask(X, content, stream), ask(Y, content, stream)]);
      expect(gw.fake.count() - before).toBe(1);
      expect([a.dedup, b.dedup].sort()).toEqual(['follower', 'leader']);
      const [leader, follower] = a.dedup === 'leader' ? [a, b] : [b, a];
      expect([leader.attempts, follower.attempts]).toEqual(['1', '0']);
      expect(a.model).toBe(X);
      expect(b.model).toBe(Y);
      expect(a.id).not.toBe(b.id);
      expect(b.text).toBe(a.text);
    },
  );
});
