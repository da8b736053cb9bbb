import { Controller, Get, Module, Post, Body } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import request from 'supertest';
import { startRedisServer, type ThrowawayRedis } from './support/redis-server';
import { startTestApp, type TestApp } from './support/test-app';

/** A route that takes its time and logs through the request-scoped logger, for shutdown and log tests. */
@Controller('test')
class SlowController {
  constructor(private readonly logger: PinoLogger) {}

  @Get('slow')
  async slow(): Promise<{ done: boolean }> {
    this.logger.info('slow request started');
    await new Promise((r) => setTimeout(r, 600));
    this.logger.info('slow request finished');
    return { done: true };
  }

  @Post('echo')
  echo(@Body() body: Record<string, unknown>): { keys: string[] } {
    this.logger.debug({ config: body }, 'echo body');
    return { keys: Object.keys(body ?? {}) };
  }
}

@Module({ controllers: [SlowController] })
class SlowModule {}

describe('foundation', () => {
  describe('without an API key', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ imports: [SlowModule], logLevel: 'debug' });
    });
    afterAll(() => t.close());

    it('serves /health/live', async () => {
      const res = await request(t.url).get('/health/live').expect(200);
      expect(res.body.status).toBe('ok');
      expect(res.body.details.process.status).toBe('up');
    });

    it('serves /health/ready with config details and Redis disabled', async () => {
      const res = await request(t.url).get('/health/ready').expect(200);
      expect(res.body.details.config.status).toBe('up');
      expect(res.body.details.redis).toEqual({
        status: 'up',
        mode: 'disabled',
        subsystems: expect.objectContaining({ cache: 'disabled' }),
      });
    });

    it('echoes a client x-request-id and puts it on every log line the request causes', async () => {
      const res = await request(t.url).get('/test/slow').set('x-request-id', 'corr-12345').expect(200);
      expect(res.headers['x-request-id']).toBe('corr-12345');
      const lines = t.logs.records.filter((r) => JSON.stringify(r).includes('corr-12345'));
      const messages = lines.map((r) => r.msg);
      expect(messages).toEqual(
        expect.arrayContaining(['slow request started', 'slow request finished', 'GET /test/slow 200']),
      );
      const access = lines.find((r) => r.msg === 'GET /test/slow 200') as Record<string, unknown>;
      expect(access.durationMs).toEqual(expect.any(Number));
      expect(access.level).toBe(30);
    });

    it('writes no access line for health probes and Prometheus scrapes', async () => {
      await request(t.url).get('/health/live').set('x-request-id', 'probe-quiet-1').expect(200);
      await request(t.url).get('/metrics').set('x-request-id', 'scrape-quiet-1').expect(200);
      await request(t.url).get('/test/slow').set('x-request-id', 'after-quiet-1');
      await waitFor(async () => t.logs.text.includes('after-quiet-1'));
      expect(t.logs.text).not.toContain('probe-quiet-1');
      expect(t.logs.text).not.toContain('scrape-quiet-1');
    });

    it('generates a request id when the client sends none (or an unsafe one)', async () => {
      const a = await request(t.url).get('/health/live');
      expect(a.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      const b = await request(t.url).get('/health/live').set('x-request-id', 'bad id with spaces');
      expect(b.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('never logs key material, even at debug level', async () => {
      await request(t.url)
        .post('/test/echo')
        .set('x-api-key', 'sk-ant-SECRET-HEADER-1')
        .set('authorization', 'Bearer sk-SECRET-BEARER-2')
        .send({
          api_key: 'sk-SECRET-BODY-3',
          nested: { apiKey: 'sk-SECRET-BODY-4', password: 'hunter2-SECRET' },
        })
        .expect(201);
      const text = t.logs.text;
      expect(text).toContain('echo body');
      expect(text).toContain('[redacted]');
      for (const secret of [
        'SECRET-HEADER-1',
        'SECRET-BEARER-2',
        'SECRET-BODY-3',
        'SECRET-BODY-4',
        'hunter2',
      ]) {
        expect(text).not.toContain(secret);
      }
    });

    it('answers unknown routes with 404 and unsupported methods with 405, in the route family format', async () => {
      const anthropic = await request(t.url).get('/v1/messages/does-not-exist').expect(404);
      expect(anthropic.body).toEqual({
        type: 'error',
        error: { type: 'not_found_error', message: expect.any(String) },
        request_id: anthropic.headers['x-request-id'],
      });
      const openai = await request(t.url).get('/v1/chat/completions/nope').expect(404);
      expect(openai.body).toEqual({
        error: { type: 'not_found_error', message: expect.any(String), param: null, code: null },
      });
      const plain = await request(t.url).delete('/health/live').expect(405);
      expect(plain.headers.allow).toBe('GET');
      expect(plain.body.error.type).toBe('invalid_request_error');
      expect(plain.body.requestId).toBe(plain.headers['x-request-id']);
      expect(JSON.stringify(plain.body)).not.toMatch(/at .*\.ts:\d+/);
    });
  });

  describe('with an API key', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ imports: [SlowModule], userConfig: { APIKEY: 'gateway-key-42' } });
    });
    afterAll(() => t.close());

    it('accepts x-api-key', () =>
      request(t.url).get('/test/slow').set('x-api-key', 'gateway-key-42').expect(200));

    it('accepts Authorization: Bearer', () =>
      request(t.url).get('/test/slow').set('authorization', 'Bearer gateway-key-42').expect(200));

    it('rejects a wrong key and a missing key with 401 authentication_error', async () => {
      const wrong = await request(t.url).get('/test/slow').set('x-api-key', 'gateway-key-43').expect(401);
      expect(wrong.body.error.type).toBe('authentication_error');
      const missing = await request(t.url).get('/test/slow').expect(401);
      expect(missing.body.error.type).toBe('authentication_error');
      const anthropic = await request(t.url).get('/v1/models').set('x-api-key', 'nope');
      expect([401, 404]).toContain(anthropic.status);
    });

    it('keeps health open', async () => {
      await request(t.url).get('/health/live').expect(200);
      await request(t.url).get('/health/ready').expect(200);
    });
  });

  describe('health with Redis', () => {
    let redis: ThrowawayRedis;
    beforeAll(async () => {
      redis = await startRedisServer();
    });
    afterAll(() => redis.stop());

    it('is ready with Redis up, degraded (still 200) with Redis stopped, and recovers by itself', async () => {
      const t = await startTestApp({ env: { REDIS_URL: redis.url } });
      try {
        await waitFor(
          async () => (await request(t.url).get('/health/ready')).body.details?.redis?.mode === 'redis',
        );
        const up = await request(t.url).get('/health/ready').expect(200);
        expect(up.body.details.redis).toEqual({
          status: 'up',
          mode: 'redis',
          latencyMs: expect.any(Number),
          subsystems: expect.objectContaining({ cache: 'redis' }),
        });

        await redis.stop();
        await waitFor(
          async () => (await request(t.url).get('/health/ready')).body.details?.redis?.mode === 'degraded',
        );
        const degraded = await request(t.url).get('/health/ready').expect(200);
        expect(degraded.body.status).toBe('ok');
        expect(degraded.body.details.redis).toEqual({
          status: 'up',
          mode: 'degraded',
          error: expect.any(String),
          subsystems: expect.objectContaining({ cache: 'local' }),
        });
        await request(t.url).get('/health/live').expect(200);

        await redis.restart();
        await waitFor(
          async () => (await request(t.url).get('/health/ready')).body.details?.redis?.mode === 'redis',
        );
      } finally {
        await t.close();
      }
    });

    it('fails readiness with 503 when Redis is required and down', async () => {
      const t = await startTestApp({
        env: { REDIS_URL: 'redis://127.0.0.1:1' },
        userConfig: { Redis: { required: true } },
      });
      try {
        const res = await request(t.url).get('/health/ready').expect(503);
        expect(res.body.status).toBe('error');
        expect(res.body.details.redis.status).toBe('down');
        await request(t.url).get('/health/live').expect(200);
      } finally {
        await t.close();
      }
    });
  });

  describe('graceful shutdown', () => {
    it('lets an in-flight request finish, then stops accepting', async () => {
      const t = await startTestApp({ imports: [SlowModule], logLevel: 'info' });
      const pending = fetch(`${t.url}/test/slow`).then(async (r) => ({
        status: r.status,
        body: await r.json(),
      }));
      await waitFor(async () => t.logs.text.includes('slow request started'));
      await t.close();
      const res = await pending;
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ done: true });
      await expect(request(t.url).get('/health/live')).rejects.toThrow();
    });
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check().catch(() => false)) {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in time');
}
