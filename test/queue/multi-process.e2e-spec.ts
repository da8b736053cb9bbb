import Anthropic from '@anthropic-ai/sdk';
import { randomUUID } from 'node:crypto';
import { startFakeProvider, type FakeProvider } from '../fake-provider';
import { fakeProviders, startGateway, DEFAULT_ROUTER, type GatewayUnderTest } from '../support/gateway';
import { runGateway, waitForHealth, writeConfig, type GatewayProcess } from '../support/gateway-process';
import { freePort, startRedisServer } from '../support/redis-server';

/**
 * Several real gateway processes (src/main.ts) on one Redis: two API nodes that start no workers and one
 * worker node that serves no clients. Every upstream call therefore crosses processes through BullMQ and
 * comes back through a Redis Stream.
 */
// Each test boots up to three ts-node gateway processes; beside the other jest worker on a 2-core CI box a
// boot alone can take most of jest's default 60 s (a slow boot, not a hang: waitForHealth bounds each one).
jest.setTimeout(180_000);

describe('API and worker processes on one Redis (real BullMQ)', () => {
  let fake: FakeProvider;
  let prefix: string;
  const procs: GatewayProcess[] = [];
  const inProcess: GatewayUnderTest[] = [];

  const config = (extra: Record<string, unknown> = {}): string =>
    writeConfig({
      Providers: fakeProviders(fake.url),
      Router: DEFAULT_ROUTER,
      // A generous command timeout: on a loaded CI box a slow ping must not flip the API node to local mode.
      Redis: { enabled: true, url: process.env.TEST_REDIS_URL, keyPrefix: prefix, commandTimeoutMs: 1500 },
      JobQueue: { enabled: true, prefix: 'q', workerLostMs: 1500, workerHeartbeatMs: 300, ...extra },
      Cache: { enabled: false },
      Pools: { warmup: false, healthPingMs: 0 },
      Failover: { health: { enabled: false, mode: 'models', intervalMs: 30000, timeoutMs: 5000 } },
      Logging: { level: 'warn' },
    });

  async function node(
    role: 'api' | 'worker' | 'all',
    file: string,
  ): Promise<{ url: string; proc: GatewayProcess }> {
    const port = await freePort();
    // The worker gets its role from the command line, the API nodes from the environment: both paths work.
    const proc = runGateway(
      {
        SWITCHYARD_CONFIG: file,
        PORT: String(port),
        NODE_ENV: 'production',
        ...(role === 'api' ? { SWITCHYARD_ROLE: 'api' } : {}),
      },
      role === 'worker' ? ['--role', 'worker'] : [],
    );
    procs.push(proc);
    const url = `http://127.0.0.1:${port}`;
    await waitForHealth(url, 120_000);
    if (role !== 'worker') {
      // Until its Redis connection is up, an API node runs requests itself (the degraded form): wait for BullMQ.
      const until = Date.now() + 30_000;
      while (
        (await fetch(`${url}/api/queue`).then((r) => r.json() as Promise<{ mode?: string }>)).mode !==
        'bullmq'
      ) {
        if (Date.now() > until) {
          throw new Error(`API node ${url} never reached queue mode bullmq`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return { url, proc };
  }

  const client = (url: string): Anthropic => new Anthropic({ baseURL: url, apiKey: 'k', maxRetries: 0 });

  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    prefix = `tm${randomUUID().slice(0, 8)}:`;
    fake.reset();
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
    await Promise.all(inProcess.splice(0).map((g) => g.stop()));
  });

  it('streams through a worker on another process event for event like direct mode; cluster-wide provider concurrency holds', async () => {
    const file = config({ providerConcurrency: { openai: 3 } });
    // Booted together: three ts-node boots one after another can take minutes on a loaded 2-core box.
    const [apiA, apiB] = await Promise.all([node('api', file), node('api', file), node('worker', file)]);

    const direct = await startGateway({ config: { Cache: { enabled: false } } });
    inProcess.push(direct);
    direct.fake.configure({ chunkCount: 10 });
    fake.configure({ chunkCount: 10 });
    const collect = async (url: string): Promise<unknown[]> => {
      const out: unknown[] = [];
      const stream = client(url).messages.stream({
        model: 'openai,gpt-fake',
        max_tokens: 32,
        messages: [{ role: 'user', content: 'the same question' }],
      });
      for await (const ev of stream) {
        out.push(ev);
      }
      return out;
    };
    const norm = (e: unknown[]): string =>
      JSON.stringify(e).replace(/"(msg|chatcmpl)[_-][A-Za-z0-9_-]+"/g, '"<id>"');
    const viaWorker = await collect(apiA.url);
    expect(norm(viaWorker)).toBe(norm(await collect(direct.url)));
    expect(fake.count()).toBe(1);

    // 24 requests spread over both API nodes: never more than 3 at the provider at once, none lost.
    fake.reset();
    fake.configure({ chunkCount: 4, chunkGapMs: 40 });
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        client(i % 2 ? apiA.url : apiB.url).messages.create({
          model: 'openai,gpt-fake',
          max_tokens: 8,
          messages: [{ role: 'user', content: `load ${i}` }],
        }),
      ),
    );
    expect(answers).toHaveLength(24);
    expect(fake.count()).toBe(24);
    expect(fake.maxInFlight()).toBeLessThanOrEqual(3);
    expect(fake.maxInFlight()).toBeGreaterThanOrEqual(2);
  });

  it('a worker killed mid-answer gives the interactive client a clean error, not a hang', async () => {
    const file = config();
    const [api, worker] = await Promise.all([node('api', file), node('worker', file)]);
    fake.configure({ chunkCount: 40, chunkGapMs: 150 });
    const events: string[] = [];
    const outcome = (async () => {
      const stream = client(api.url).messages.stream({
        model: 'openai,gpt-fake',
        max_tokens: 32,
        messages: [{ role: 'user', content: 'a long answer' }],
      });
      try {
        for await (const ev of stream) {
          events.push(ev.type);
        }
        return 'completed';
      } catch (err) {
        return `error: ${(err as Error).message}`;
      }
    })();
    await fake.waitFor((r) => r.length === 1);
    await new Promise((r) => setTimeout(r, 400));
    worker.proc.child.kill('SIGKILL');
    const result = await outcome;
    expect(result).toMatch(/^error: .*worker/);
    expect(events[0]).toBe('message_start');
    expect(events).not.toContain('message_stop');
  });

  it('a worker stopped with SIGTERM finishes the answer it is streaming, then exits', async () => {
    const file = config();
    const [api, worker] = await Promise.all([node('api', file), node('worker', file)]);
    fake.configure({ chunkCount: 12, chunkGapMs: 100 });
    const events: string[] = [];
    const done = (async () => {
      const stream = client(api.url).messages.stream({
        model: 'openai,gpt-fake',
        max_tokens: 32,
        messages: [{ role: 'user', content: 'finish me' }],
      });
      for await (const ev of stream) {
        events.push(ev.type);
      }
    })();
    await fake.waitFor((r) => r.length === 1);
    worker.proc.child.kill('SIGTERM');
    await done;
    expect(events[events.length - 1]).toBe('message_stop');
    // Nest re-raises the signal after a clean shutdown, so the exit code is null (killed by SIGTERM), never 1.
    expect([0, null]).toContain(await worker.proc.exited);
    expect(worker.proc.output()).not.toContain('shutdown did not finish');
  });

  it('a batch whose worker is killed mid-request is retried by another worker and every request succeeds', async () => {
    const file = config({ queues: { batch: { concurrency: 2, attempts: 3, backoffMs: 200 } } });
    const [api, first] = await Promise.all([node('api', file), node('worker', file)]);
    fake.configure({ chunkCount: 10, chunkGapMs: 150 });
    const sdk = client(api.url);
    const batch = await sdk.messages.batches.create({
      requests: Array.from({ length: 4 }, (_, i) => ({
        custom_id: `r${i}`,
        params: {
          model: 'openai,gpt-fake',
          max_tokens: 8,
          messages: [{ role: 'user', content: `batch item ${i}` }],
        },
      })),
    });
    await fake.waitFor((r) => r.length >= 1);
    first.proc.child.kill('SIGKILL');
    await first.proc.exited;
    await node('worker', file);
    let status = batch.processing_status;
    const until = Date.now() + 60_000;
    while (status !== 'ended' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 300));
      status = (await sdk.messages.batches.retrieve(batch.id)).processing_status;
    }
    expect(status).toBe('ended');
    const results = [];
    for await (const r of await sdk.messages.batches.results(batch.id)) {
      results.push(r);
    }
    expect(results.map((r) => r.result.type).sort()).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    // The interrupted request(s) ran again: more upstream calls than requests.
    expect(fake.count()).toBeGreaterThan(4);
  });

  it('an interactive request that no worker takes gets 503 with retry-after after the class maximum wait', async () => {
    const file = config({ queues: { interactive: { maxWaitMs: 800 } } });
    const api = await node('api', file);
    const res = await fetch(`${api.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'openai,gpt-fake',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'nobody home' }],
      }),
    });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(fake.count()).toBe(0);
  });

  it('an all-in-one node asked to stop turns away requests arriving during its drain instead of queueing them for its closing worker', async () => {
    const all = await node('all', config());
    fake.configure({ chunkCount: 15, chunkGapMs: 100 });
    const events: string[] = [];
    const running = (async () => {
      const stream = client(all.url).messages.stream({
        model: 'openai,gpt-fake',
        max_tokens: 32,
        messages: [{ role: 'user', content: 'started before the signal' }],
      });
      for await (const ev of stream) {
        events.push(ev.type);
      }
    })();
    await fake.waitFor((r) => r.length === 1);
    all.proc.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    // A new connection: refused at once (before: accepted, queued, never run, cut after the whole grace).
    const late = (await fetch(`${all.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'openai,gpt-fake',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'late' }],
      }),
    }).then(
      (r) => ({ status: r.status }),
      (e: { cause?: { code?: string } }) => ({ code: e.cause?.code }),
    )) as { status?: number; code?: string };
    expect(late.code === 'ECONNREFUSED' || late.status === 503).toBe(true);
    await running;
    expect(events[events.length - 1]).toBe('message_stop');
    expect([0, null]).toContain(await all.proc.exited);
    expect(all.proc.output()).not.toContain('shutdown did not finish');
    expect(fake.requests).toHaveLength(1);
  });

  it('an idle worker whose Redis is down stops at once on SIGTERM, without waiting out the grace period', async () => {
    const redis = await startRedisServer();
    try {
      const file = writeConfig({
        Providers: fakeProviders(fake.url),
        Router: DEFAULT_ROUTER,
        Redis: { enabled: true, url: redis.url, keyPrefix: prefix, commandTimeoutMs: 1500 },
        JobQueue: { enabled: true, prefix: 'q' },
        Server: { shutdownGraceMs: 20_000 },
        Pools: { warmup: false, healthPingMs: 0 },
        Failover: { health: { enabled: false, mode: 'models', intervalMs: 30000, timeoutMs: 5000 } },
        Logging: { level: 'warn' },
      });
      const worker = await node('worker', file);
      await redis.stop();
      await new Promise((r) => setTimeout(r, 500));
      worker.proc.child.kill('SIGTERM');
      expect([0, null]).toContain(await worker.proc.exited);
      const output = worker.proc.output();
      expect(output).not.toContain('grace period over');
      expect(output).not.toContain('shutdown did not finish');
      // BullMQ's connection errors go to the log (throttled), not raw to stderr.
      expect(output).not.toMatch(/^Error: connect ECONNREFUSED/m);
    } finally {
      await redis.stop().catch(() => undefined);
    }
  });
});
