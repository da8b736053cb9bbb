import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { eventually, startGateway, type GatewayUnderTest } from '../support/gateway';

const ask = (url: string, id: string): Promise<Response> =>
  fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': id },
    body: JSON.stringify({ model: 'claude-x', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }),
  });

/** docs/troubleshooting.md: LOG_LEVEL=debug adds a line per upstream call, under the request's requestId. */
describe('the upstream call debug line', () => {
  describe('at debug level', () => {
    let gw: GatewayUnderTest;
    beforeAll(async () => {
      gw = await startGateway({ logLevel: 'debug' });
    });
    afterAll(() => gw.stop());

    it('logs provider, method, URL, status, duration and bytes under the requestId; no key, no header', async () => {
      const res = await ask(gw.url, 'upstream-dbg-1');
      expect(res.status).toBe(200);
      await res.text();
      const lines = gw.logs.lines.filter(
        (l) => l.includes('"msg":"upstream call"') && l.includes('upstream-dbg-1'),
      );
      expect(lines).toHaveLength(1);
      expect(lines[0].match(/"requestId":/g)).toHaveLength(1);
      expect(JSON.parse(lines[0])).toMatchObject({
        level: 20,
        requestId: 'upstream-dbg-1',
        context: 'providers',
        provider: 'openai',
        method: 'POST',
        url: `${gw.fake.url}/v1/chat/completions`,
        status: 200,
        durationMs: expect.any(Number) as number,
        requestBytes: expect.any(Number) as number,
      });
      expect(lines[0]).not.toContain('sk-openai-test');
      expect(lines[0]).not.toMatch(/authorization|x-api-key/i);
    });
  });

  describe('in queue mode (the call runs as a BullMQ job)', () => {
    let gw: GatewayUnderTest;
    const prefix = `tdbg${randomUUID().slice(0, 8)}:`;
    beforeAll(async () => {
      gw = await startGateway({
        logLevel: 'debug',
        config: {
          Redis: { enabled: true, url: process.env.TEST_REDIS_URL, keyPrefix: prefix },
          JobQueue: { enabled: true, prefix: 'q' },
          Cache: { enabled: false },
        },
      });
      await eventually(async () => (await request(gw.url).get('/api/queue')).body.mode === 'bullmq', 10_000);
    });
    afterAll(() => gw.stop());

    it("the worker's line carries the request's requestId too", async () => {
      const res = await ask(gw.url, 'upstream-dbg-queued');
      expect(res.status).toBe(200);
      await res.text();
      const line = gw.logs.lines.find((l) => l.includes('"msg":"upstream call"'));
      expect(line).toBeDefined();
      expect(JSON.parse(line!)).toMatchObject({ requestId: 'upstream-dbg-queued', status: 200 });
    });
  });

  describe('at info level', () => {
    let gw: GatewayUnderTest;
    beforeAll(async () => {
      gw = await startGateway({ logLevel: 'info' });
    });
    afterAll(() => gw.stop());

    it('writes no such line', async () => {
      const res = await ask(gw.url, 'upstream-info-1');
      expect(res.status).toBe(200);
      await res.text();
      expect(gw.logs.text).toContain('upstream-info-1'); // the access line
      expect(gw.logs.text).not.toContain('"msg":"upstream call"');
    });
  });
});
