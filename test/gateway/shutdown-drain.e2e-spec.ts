import { connect } from 'node:net';
import { ShutdownService } from '../../src/common/shutdown.service';
import { startGateway, type GatewayUnderTest } from '../support/gateway';

const streamBody = (text: string): string =>
  JSON.stringify({
    model: 'openai,gpt-fake',
    max_tokens: 32,
    stream: true,
    messages: [{ role: 'user', content: text }],
  });

const rawRequest = (port: number, body: string): string =>
  `POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n` +
  `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

/** The gateway's drain, in process: what a request arriving during it gets, and how open streams end. */
describe('graceful shutdown drain (in process)', () => {
  let gw: GatewayUnderTest | undefined;

  afterEach(async () => {
    await gw?.stop().catch(() => undefined);
    gw = undefined;
  });

  it('a request arriving on a busy keep-alive connection during the drain gets 503 overloaded_error with retry-after; the running stream completes', async () => {
    gw = await startGateway({
      fakeDefaults: { chunkCount: 12, chunkGapMs: 60 },
      config: { Cache: { enabled: false } },
    });
    const port = Number(new URL(gw.url).port);
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('data', (d: Buffer) => (received += d.toString()));
    socket.write(rawRequest(port, streamBody('the running one')));
    while (!received.includes('message_start')) {
      await new Promise((r) => setTimeout(r, 10));
    }
    gw.app.get(ShutdownService).begin('SIGTERM');
    // Pipelined behind the running stream on the same connection: it reaches the gateway during the drain.
    socket.write(rawRequest(port, streamBody('too late')));
    await closed;
    const [first, second] = received.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 200/);
    expect(first).toContain('event: message_stop');
    expect(second).toMatch(/^HTTP\/1\.1 503/);
    expect(second.toLowerCase()).toContain('retry-after: 1');
    expect(second).toContain('"type":"overloaded_error"');
    expect(second).toContain('shutting down');
    // Only the first request ever reached the provider.
    expect(gw.fake.count()).toBe(1);
  });

  it('new connections are refused as soon as the drain starts', async () => {
    gw = await startGateway({ config: { Cache: { enabled: false } } });
    gw.app.get(ShutdownService).begin('SIGTERM');
    const err = (await fetch(`${gw.url}/v1/messages`, { method: 'POST', body: streamBody('x') }).catch(
      (e: unknown) => e,
    )) as { cause?: { code?: string } };
    expect(err.cause?.code).toBe('ECONNREFUSED');
  });

  it('a stream still open when the grace period ends gets a terminal overloaded_error event, not a cut connection', async () => {
    gw = await startGateway({
      fakeDefaults: { chunkCount: 200, chunkGapMs: 50 },
      config: { Cache: { enabled: false }, Server: { shutdownGraceMs: 300, pingIntervalMs: 10_000 } },
    });
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: streamBody('a long answer'),
    });
    expect(res.status).toBe(200);
    const text = res.text();
    await gw.fake.waitFor((r) => r.length === 1);
    const closing = gw.stop();
    const body = await text;
    await closing;
    gw = undefined;
    expect(body).toContain('event: content_block_delta');
    expect(body).not.toContain('event: message_stop');
    const last = body.trim().split('\n\n').at(-1) ?? '';
    expect(last).toContain('event: error');
    expect(last).toContain('"type":"overloaded_error"');
    expect(last).toContain('shutting down');
  });
});
