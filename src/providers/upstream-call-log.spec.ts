import { createServer } from 'node:net';
import { LoopbackServer, sendJson } from './testing/loopback-server';
import type { UpstreamCallRecord } from './upstream-call-log';
import { UpstreamClient, type UpstreamRequest } from './upstream.client';

/** A port nobody listens on (bound once, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe('UpstreamClient: the per-call record of the debug log', () => {
  let server: LoopbackServer;
  let client: UpstreamClient;
  const calls: Array<[UpstreamCallRecord, UpstreamRequest]> = [];

  beforeEach(async () => {
    calls.length = 0;
    server = await LoopbackServer.start((_req, res) =>
      sendJson(res, 201, { ok: true }, { 'content-length': '11' }),
    );
    client = new UpstreamClient({ onCall: (call, req) => calls.push([call, req]) });
  });
  afterEach(async () => {
    await client.destroy();
    await server.close();
  });

  it('reports method, URL without query secrets, status, duration and bytes; never headers', async () => {
    const req: UpstreamRequest = {
      url: server.url('/v1beta/models/m:generateContent?alt=sse&key=AIza-SECRET'),
      method: 'POST',
      headers: { 'x-goog-api-key': 'AIza-SECRET', 'content-type': 'application/json' },
      body: '{"contents":"é"}',
    };
    await (await client.request(req)).body.dump();
    expect(calls).toHaveLength(1);
    const [call, seen] = calls[0];
    expect(call).toEqual({
      method: 'POST',
      url: server.url('/v1beta/models/m:generateContent?alt=sse&key=[redacted]'),
      status: 201,
      durationMs: expect.any(Number) as number,
      requestBytes: 17,
      responseBytes: 11,
      error: undefined,
    });
    expect(JSON.stringify(call)).not.toContain('SECRET');
    expect(seen).toBe(req); // for the sink to tell the provider, not to log
  });

  it('reports a call that got no answer with its failure', async () => {
    const port = await closedPort();
    await expect(
      client.request({ url: `http://127.0.0.1:${port}/v1/messages`, method: 'POST', body: '{}' }),
    ).rejects.toThrow();
    expect(calls).toHaveLength(1);
    expect(calls[0][0]).toMatchObject({
      method: 'POST',
      url: `http://127.0.0.1:${port}/v1/messages`,
      status: undefined,
      error: expect.stringMatching(/^connect: .*ECONNREFUSED/) as string,
    });
  });

  it('a sink that throws never fails the call; without a sink nothing is reported', async () => {
    const throwing = new UpstreamClient({
      onCall: () => {
        throw new Error('sink broke');
      },
    });
    try {
      expect((await throwing.request({ url: server.url('/'), method: 'GET' })).statusCode).toBe(201);
    } finally {
      await throwing.destroy();
    }
    const quiet = new UpstreamClient();
    try {
      await (await quiet.request({ url: server.url('/'), method: 'GET' })).body.dump();
    } finally {
      await quiet.destroy();
    }
  });
});
