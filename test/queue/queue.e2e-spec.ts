import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { startRedisServer, type ThrowawayRedis } from '../support/redis-server';
import { eventually, fakeProviders, startGateway, type GatewayUnderTest } from '../support/gateway';

type Mode = 'bullmq' | 'local';

const redisConfig = (url: string, prefix: string): Record<string, unknown> => ({
  Redis: { enabled: true, url, keyPrefix: prefix },
});

function queueConfig(mode: Mode, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { enabled: mode === 'bullmq', prefix: 'q', ...extra };
}

async function waitForMode(gw: GatewayUnderTest, mode: Mode): Promise<void> {
  await eventually(async () => (await request(gw.url).get('/api/queue')).body.mode === mode, 10_000);
}

/** The user text the fake saw (tests tag requests with it). */
const textOf = (body: { messages?: { content: unknown }[] }): string => {
  const last = body.messages?.[body.messages.length - 1]?.content;
  return typeof last === 'string' ? last : JSON.stringify(last);
};

const sdk = (gw: GatewayUnderTest, headers: Record<string, string> = {}): Anthropic =>
  new Anthropic({ baseURL: gw.url, apiKey: 'test', maxRetries: 0, defaultHeaders: headers });

async function streamEvents(client: Anthropic, text: string): Promise<unknown[]> {
  const events: unknown[] = [];
  const stream = client.messages.stream({
    model: 'openai,gpt-fake',
    max_tokens: 64,
    messages: [{ role: 'user', content: text }],
  });
  for await (const ev of stream) {
    events.push(ev);
  }
  return events;
}

/** Message ids differ per call; everything else must match event for event. */
const normalize = (events: unknown[]): unknown[] =>
  JSON.parse(JSON.stringify(events).replace(/"(msg|chatcmpl)[_-][A-Za-z0-9_-]+"/g, '"<id>"')) as unknown[];

describe('queues (real Redis, real BullMQ)', () => {
  const open: GatewayUnderTest[] = [];
  let prefix: string;
  const url = (): string => process.env.TEST_REDIS_URL as string;

  /** `local` runs without Redis at all (the in-process scheduler and local slots); `bullmq` on the test Redis. */
  const gateway = async (mode: Mode, config: Record<string, unknown> = {}, fake = {}): Promise<GatewayUnderTest> => {
    const { JobQueue, ...rest } = config as { JobQueue?: Record<string, unknown> };
    const gw = await startGateway({
      fakeDefaults: fake,
      config: {
        ...(mode === 'bullmq' ? redisConfig(url(), prefix) : {}),
        JobQueue: queueConfig(mode, JobQueue),
        Cache: { enabled: false },
        ...rest,
      },
    });
    open.push(gw);
    await waitForMode(gw, mode);
    return gw;
  };

  beforeEach(() => {
    prefix = `tq${randomUUID().slice(0, 8)}:`;
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((g) => g.stop()));
  });

  it('queue mode streams through a worker event for event like direct mode (official SDK)', async () => {
    const direct = await gateway('local', {}, { chunkCount: 12 });
    const queued = await gateway('bullmq', {}, { chunkCount: 12 });
    const a = await streamEvents(sdk(direct), 'same question');
    const b = await streamEvents(sdk(queued), 'same question');
    expect(b.length).toBeGreaterThan(12);
    expect(normalize(b)).toEqual(normalize(a));
    const state = (await request(queued.url).get('/api/queue').expect(200)).body;
    expect(state.depth.interactive.completed).toBeGreaterThanOrEqual(1);
    expect(state.relayedInFlight).toBe(0);
  });

  it('rejects an unknown x-switchyard-priority in the client format, before any upstream work', async () => {
    const gw = await gateway('local');
    const res = await request(gw.url)
      .post('/v1/messages')
      .set('x-switchyard-priority', 'urgent')
      .send({ model: 'openai,gpt-fake', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] })
      .expect(400);
    expect(res.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(res.body.error.message).toContain('interactive, batch, background');
    const oa = await request(gw.url)
      .post('/v1/chat/completions')
      .set('x-switchyard-priority', 'urgent')
      .send({ model: 'openai,gpt-fake', messages: [{ role: 'user', content: 'x' }] })
      .expect(400);
    expect(oa.body.error.type).toBe('invalid_request_error');
    expect(gw.fake.count()).toBe(0);
  });

  it('non-stream and OpenAI-format clients are answered through the queue too', async () => {
    const gw = await gateway('bullmq');
    const msg = await sdk(gw).messages.create({
      model: 'openai,gpt-fake',
      max_tokens: 32,
      messages: [{ role: 'user', content: 'hello queue' }],
    });
    expect(msg.content[0]).toMatchObject({ type: 'text' });
    const res = await request(gw.url)
      .post('/v1/chat/completions')
      .send({ model: 'openai,gpt-fake', messages: [{ role: 'user', content: 'hi openai' }] })
      .expect(200);
    expect(res.body.choices[0].message.content).toEqual(expect.any(String));
    expect(gw.fake.count()).toBe(2);
  });

  for (const mode of ['bullmq', 'local'] as Mode[]) {
    it(`${mode}: a burst beyond a provider's concurrency waits in priority order, none lost, never over the limit`, async () => {
      const gw = await gateway(
        mode,
        { JobQueue: { providerConcurrency: { openai: 5 } } },
        { chunkCount: 4, chunkGapMs: 25 },
      );
      const send = (cls: 'interactive' | 'background', i: number, directive = ''): Promise<number> =>
        fetch(`${gw.url}/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-switchyard-priority': cls },
          body: JSON.stringify({
            model: 'openai,gpt-fake',
            max_tokens: 16,
            messages: [{ role: 'user', content: `${cls}-${i}${directive}` }],
          }),
        }).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        });
      const slots = async (): Promise<{ waitingHere: number; maxHeldHere: number }> =>
        (await request(gw.url).get('/api/queue')).body.providerSlots.openai;
      // Ten slow background requests: five fill the provider, five wait. Then 145 of each class arrive
      // together and line up behind them while the provider is busy (5 s: room for all 290 to arrive even on
      // a loaded CI box; at 2.5 s a slow arrival once let a waiting background request in first).
      const slow = '[[fake:{"chunkCount":10,"chunkGapMs":500}]]';
      const early = Array.from({ length: 10 }, (_, i) => send('background', 1000 + i, slow));
      await gw.fake.waitFor((r) => r.length >= 5);
      const burst: Promise<number>[] = [];
      for (let i = 0; i < 145; i += 1) {
        burst.push(send('background', i), send('interactive', i));
      }
      const statuses = await Promise.all([...early, ...burst]);
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      // Each request answered by exactly one upstream call. On a loaded box a stalled process can let a
      // first-byte deadline fire and failover retry: the abandoned attempt is then closed by the gateway.
      const answered = gw.fake.requests.filter((r) => !r.closedByClient);
      const prompts = answered.map((r) => textOf(r.body as { messages?: { content: unknown }[] }));
      expect(answered).toHaveLength(300);
      expect(new Set(prompts).size).toBe(300);
      // The gateway never held more than 5 slots (measured at the gateway: the fake counts a request until
      // its socket's 'close' event, which trails the last byte, so its own in-flight count can lag by one).
      expect((await slots()).maxHeldHere).toBe(5);
      // Arrival order at the provider: after the first five, every interactive request before any of the
      // background ones that were waiting with it (the five slow early ones included).
      // (The first arrival of each request: a retried attempt re-enters the line later.)
      const order = [
        ...new Set(gw.fake.requests.map((r) => textOf(r.body as { messages?: { content: unknown }[] }))),
      ];
      const afterFirstFive = order.slice(5);
      const lastInteractive = afterFirstFive.map((t) => t.startsWith('interactive')).lastIndexOf(true);
      const inversions = afterFirstFive.slice(0, lastInteractive + 1).filter((t) => t.startsWith('background'));
      expect(inversions).toEqual([]);
      expect(lastInteractive).toBe(144);
    }, 180_000); // 300 requests through 5 provider slots: ~20 s alone, minutes beside a busy CI worker
  }

  for (const mode of ['bullmq', 'local'] as Mode[]) {
    it(`${mode}: a finished answer gives back its class slot, provider slot and relay (no leak past the limits)`, async () => {
      const gw = await gateway(mode, {
        Dedup: { enabled: false },
        JobQueue: { queues: { interactive: { concurrency: 2, maxWaitMs: 2000 } }, providerConcurrency: { openai: 2 } },
      });
      const client = sdk(gw);
      for (let i = 0; i < 8; i += 1) {
        const params = { model: 'openai,gpt-fake', max_tokens: 8, messages: [{ role: 'user' as const, content: `n${i}` }] };
        if (i % 2) {
          await client.messages.create(params);
        } else {
          await streamEvents(client, `s${i}`);
        }
      }
      expect(gw.fake.count()).toBe(8);
      await eventually(async () => {
        const q = (await request(gw.url).get('/api/queue')).body;
        return q.depth.interactive.local_running === 0 && q.providerSlots.openai.heldHere === 0 && q.relayedInFlight === 0;
      });
    });
  }

  it('a client that leaves while queued removes its job: the provider never sees it', async () => {
    const gw = await gateway('bullmq', { JobQueue: { queues: { interactive: { concurrency: 1 } } } }, {});
    gw.fake.configure({ firstByteDelayMs: 1500 });
    const first = sdk(gw).messages.create({
      model: 'openai,gpt-fake',
      max_tokens: 8,
      messages: [{ role: 'user', content: 'slow one' }],
    });
    await gw.fake.waitFor((r) => r.length === 1);
    const ac = new AbortController();
    const second = sdk(gw)
      .messages.create(
        { model: 'openai,gpt-fake', max_tokens: 8, messages: [{ role: 'user', content: 'queued one' }] },
        { signal: ac.signal },
      )
      .catch((e: Error) => e);
    await eventually(async () => (await request(gw.url).get('/api/queue')).body.depth.interactive.waiting === 1);
    ac.abort();
    expect(await second).toBeInstanceOf(Error);
    await eventually(async () => (await request(gw.url).get('/api/queue')).body.depth.interactive.waiting === 0);
    await first;
    await new Promise((r) => setTimeout(r, 300));
    expect(gw.fake.count()).toBe(1);
  });

  for (const mode of ['bullmq', 'local'] as Mode[]) {
    it(`${mode}: an interactive request that waits longer than maxWaitMs gets 503 overloaded with retry-after`, async () => {
      const gw = await gateway(mode, {
        JobQueue: { queues: { interactive: { concurrency: 1, maxWaitMs: 300 } } },
      });
      gw.fake.configure({ firstByteDelayMs: 2000 });
      const first = request(gw.url)
        .post('/v1/messages')
        .send({ model: 'openai,gpt-fake', max_tokens: 8, messages: [{ role: 'user', content: 'occupies the class' }] });
      const firstDone = first.then((r) => r);
      await gw.fake.waitFor((r) => r.length === 1);
      const res = await request(gw.url)
        .post('/v1/messages')
        .send({ model: 'openai,gpt-fake', max_tokens: 8, messages: [{ role: 'user', content: 'waits too long' }] });
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect((await firstDone).status).toBe(200);
      expect(gw.fake.count()).toBe(1);
    });
  }

  describe('Redis going away', () => {
    let server: ThrowawayRedis;
    afterEach(async () => {
      await server?.stop().catch(() => undefined);
    });

    it('drops to the in-process scheduler, keeps answering, and returns to BullMQ by itself', async () => {
      server = await startRedisServer();
      // Closed inside the test, while Redis is up again (BullMQ's close waits for its connections).
      const gw = await startGateway({
        config: { ...redisConfig(server.url, prefix), JobQueue: queueConfig('bullmq'), Cache: { enabled: false } },
      });
      await waitForMode(gw, 'bullmq');
      const ask = (text: string): Promise<Anthropic.Message> =>
        sdk(gw).messages.create({ model: 'openai,gpt-fake', max_tokens: 8, messages: [{ role: 'user', content: text }] });
      try {
        await ask('before');
        await server.stop();
        await waitForMode(gw, 'local');
        const during = await ask('during');
        expect(during.content[0]).toMatchObject({ type: 'text' });
        await server.restart();
        await waitForMode(gw, 'bullmq');
        // The restarted Redis is empty: a BullMQ job completing on it proves requests went back to the queue
        // (the first one may still fall back while BullMQ's own connections reconnect).
        let n = 0;
        await eventually(async () => {
          await ask(`after ${(n += 1)}`);
          return (await request(gw.url).get('/api/queue')).body.depth.interactive.completed >= 1;
        }, 15_000);
        expect(gw.fake.count()).toBe(2 + n);
      } finally {
        await gw.stop();
      }
    });
  });
});

describe('roles and cluster-scheduled jobs (real Redis, real BullMQ)', () => {
  const open: GatewayUnderTest[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((g) => g.stop()));
  });

  it('a worker node serves only health and metrics: client routes answer the api node\'s 404, in the client format', async () => {
    const gw = await startGateway({
      config: {
        Redis: { enabled: true, url: process.env.TEST_REDIS_URL, keyPrefix: `tr${randomUUID().slice(0, 8)}:` },
        JobQueue: { enabled: true, prefix: 'q', role: 'worker' },
      },
    });
    open.push(gw);
    await request(gw.url).get('/health/live').expect(200);
    await request(gw.url).get('/metrics').expect(200);

    const anthropic = await sdk(gw)
      .messages.create({ model: 'openai,gpt-fake', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] })
      .catch((err: unknown) => err);
    expect(anthropic).toBeInstanceOf(Anthropic.NotFoundError);
    const a = anthropic as InstanceType<typeof Anthropic.NotFoundError>;
    expect(a.requestID).toEqual(expect.any(String));
    expect(a.headers?.get('x-should-retry')).toBe('false');
    expect(a.error).toEqual({
      type: 'error',
      error: {
        type: 'not_found_error',
        message: 'this is a worker node (--role worker): it serves only /health and /metrics, not POST /v1/messages',
      },
      request_id: a.requestID,
    });

    const openaiClient = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'test', maxRetries: 0 });
    const openai = await openaiClient.chat.completions
      .create({ model: 'openai,gpt-fake', messages: [{ role: 'user', content: 'x' }] })
      .catch((err: unknown) => err);
    expect(openai).toBeInstanceOf(OpenAI.NotFoundError);
    expect((openai as InstanceType<typeof OpenAI.NotFoundError>).error).toEqual({
      message:
        'this is a worker node (--role worker): it serves only /health and /metrics, not POST /v1/chat/completions',
      type: 'not_found_error',
      param: null,
      code: null,
    });
    // Elsewhere under /v1 the format follows the client (the OpenAI SDK's models list); outside /v1, the plain one.
    const models = await openaiClient.models.list().catch((err: unknown) => err);
    expect((models as InstanceType<typeof OpenAI.NotFoundError>).error).toMatchObject({ type: 'not_found_error' });
    const page = await request(gw.url).get('/dashboard').expect(404);
    expect(page.body).toEqual({
      error: { type: 'not_found_error', message: expect.stringContaining('worker node') },
      statusCode: 404,
      requestId: page.headers['x-request-id'],
    });
    expect(gw.fake.count()).toBe(0);
  });

  it('probes each provider once per cluster, not once per instance, and every instance learns the result', async () => {
    const prefix = `ts${randomUUID().slice(0, 8)}:`;
    const config = {
      Redis: { enabled: true, url: process.env.TEST_REDIS_URL, keyPrefix: prefix },
      JobQueue: { enabled: true, prefix: 'q', scheduled: { healthProbeMs: 400, pruneMs: 0, warmupMs: 0 } },
      Failover: { health: { enabled: true, mode: 'models', intervalMs: 400, timeoutMs: 1000 } },
    };
    const a = await startGateway({ config });
    open.push(a);
    // The second instance points at the same fake provider, so the fake's log counts both instances' probes.
    const b = await startGateway({ config, userConfig: { Providers: fakeProviders(a.fake.url) } });
    open.push(b);
    a.fake.reset();
    await new Promise((r) => setTimeout(r, 2500));
    const probes = a.fake.count({ api: 'models' });
    // Three providers share the fake: one run per ~400 ms for the cluster ⇒ about 3 × 6; per instance it would be twice that.
    expect(probes).toBeGreaterThanOrEqual(3);
    expect(probes).toBeLessThanOrEqual(3 * 8);
    for (const gw of [a, b]) {
      const ready = (await request(gw.url).get('/health/ready')).body;
      expect(Object.keys(ready.details?.providers?.probes ?? ready.info?.providers?.probes ?? {})).toEqual(
        expect.arrayContaining(['openai', 'anthropic', 'gemini']),
      );
    }
  });
});
