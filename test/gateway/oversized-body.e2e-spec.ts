import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { request as httpRequest } from 'node:http';
import { startFakeProvider, type FakeProvider } from '../fake-provider';
import { fakeProviders } from '../support/gateway';
import { runGateway, waitForHealth, writeConfig, type GatewayProcess } from '../support/gateway-process';
import { freePort } from '../support/redis-server';

const LIMIT = 1024 * 1024;
/** Far more than loopback socket buffers hold: the client is still writing when the 413 is sent. */
const BODY_BYTES = 24 * 1024 * 1024;
const filler = 'x'.repeat(BODY_BYTES);

/** A fetch that counts the calls an SDK makes (its retries included). */
function countingFetch(): { fetch: typeof fetch; calls: () => number } {
  let calls = 0;
  return {
    fetch: (input, init) => {
      calls += 1;
      return fetch(input, init);
    },
    calls: () => calls,
  };
}

/** A raw upload that reports what the client saw: the status, or the socket error. */
function upload(url: string, bytes: number, chunked: boolean): Promise<{ status?: number; error?: string }> {
  const body = Buffer.alloc(bytes, 'x');
  return new Promise((resolve) => {
    const req = httpRequest(`${url}/v1/messages`, {
      method: 'POST',
      headers: chunked
        ? { 'content-type': 'application/json' }
        : { 'content-type': 'application/json', 'content-length': String(bytes) },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end(body);
  });
}

/**
 * PROTOCOL.md §2.4: 413 request_too_large — which a client can only read if its upload is not cut. The
 * gateway runs as its own process: in the test's own event loop the client's writes and the server's close
 * interleave differently, and the reset this guards against (EPIPE, then SDK retries) does not show.
 */
describe('a body over Server.bodyLimit', () => {
  let fake: FakeProvider;
  let gw: GatewayProcess;
  const gwUrl = { value: '' };

  beforeAll(async () => {
    fake = await startFakeProvider();
    const port = await freePort();
    const file = writeConfig({
      Providers: fakeProviders(fake.url),
      Router: { default: 'openai,gpt-fake' },
      Server: { bodyLimit: LIMIT },
      Failover: { health: { enabled: false } },
    });
    gw = runGateway({ SWITCHYARD_CONFIG: file, PORT: String(port), NODE_ENV: 'test' });
    gwUrl.value = `http://127.0.0.1:${port}`;
    await waitForHealth(gwUrl.value);
  });
  afterAll(async () => {
    gw.child.kill('SIGTERM');
    await gw.exited;
    await fake.close();
  });

  it('Anthropic SDK: ContentTooLargeError 413 request_too_large, one upload, no retry', async () => {
    for (let i = 0; i < 3; i++) {
      const counter = countingFetch();
      // Default retries: a connection error would be retried, a 413 is not.
      const client = new Anthropic({ baseURL: gwUrl.value, apiKey: 'k', fetch: counter.fetch });
      const err = await client.messages
        .create({ model: 'openai,gpt-fake', max_tokens: 8, messages: [{ role: 'user', content: filler }] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(Anthropic.ContentTooLargeError);
      const e = err as InstanceType<typeof Anthropic.ContentTooLargeError>;
      expect(e.status).toBe(413);
      expect(e.error).toMatchObject({ type: 'error', error: { type: 'request_too_large' } });
      expect(counter.calls()).toBe(1);
    }
  });

  it('OpenAI SDK: APIError 413, one upload, no retry', async () => {
    for (let i = 0; i < 3; i++) {
      const counter = countingFetch();
      const client = new OpenAI({ baseURL: `${gwUrl.value}/v1`, apiKey: 'k', fetch: counter.fetch });
      const err = await client.chat.completions
        .create({ model: 'openai,gpt-fake', messages: [{ role: 'user', content: filler }] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
      expect((err as InstanceType<typeof OpenAI.APIError>).type).toBe('request_too_large');
      expect(counter.calls()).toBe(1);
    }
  });

  it.each([
    ['with a content-length', false],
    ['chunked', true],
  ])('a raw upload %s reads the 413, and the gateway answers the next request', async (_name, chunked) => {
    expect(await upload(gwUrl.value, BODY_BYTES, chunked)).toEqual({ status: 413 });
    const ok = await fetch(`${gwUrl.value}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'openai,gpt-fake',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'after' }],
      }),
    });
    expect(ok.status).toBe(200);
  });
});
