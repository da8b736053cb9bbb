import Anthropic from '@anthropic-ai/sdk';
import request from 'supertest';
import { eventually, type GatewayUnderTest } from '../support/gateway';
import { params, resultsOf, sdk, startBatchGateway, waitForStatus } from './support';

const textOf = (body: unknown): string => JSON.stringify(body ?? '');

describe('Message Batches without Redis (memory store, in-process jobs)', () => {
  let gw: GatewayUnderTest | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('create → ended → results → list → delete', async () => {
    gw = await startBatchGateway({});
    const client = sdk(gw.url);
    const created = await client.messages.batches.create({
      requests: [
        { custom_id: 'o', params: params('openai,gpt-fake', 'mem-1') },
        { custom_id: 'a', params: params('anthropic,claude-fake', 'mem-2') },
        { custom_id: 'g', params: params('gemini,gemini-fake', 'mem-3') },
        {
          custom_id: 'bad',
          params: params('openai,gpt-fake', 'mem-4', { fault: { type: 'status', status: 400 } }),
        },
      ],
    });
    const ended = await waitForStatus(client, created.id, 'ended');
    expect(ended.request_counts).toEqual({
      processing: 0,
      succeeded: 3,
      errored: 1,
      canceled: 0,
      expired: 0,
    });
    const results = await resultsOf(client, created.id);
    expect(results.map((r) => [r.custom_id, r.result.type])).toEqual([
      ['o', 'succeeded'],
      ['a', 'succeeded'],
      ['g', 'succeeded'],
      ['bad', 'errored'],
    ]);
    expect((await client.messages.batches.list()).data.map((b) => b.id)).toEqual([created.id]);
    expect(await client.messages.batches.delete(created.id)).toEqual({
      id: created.id,
      type: 'message_batch_deleted',
    });
    await expect(client.messages.batches.retrieve(created.id)).rejects.toBeInstanceOf(
      Anthropic.NotFoundError,
    );
  });

  it('cancel takes the waiting in-process jobs back', async () => {
    gw = await startBatchGateway({ batchQueue: { concurrency: 1 } });
    const client = sdk(gw.url);
    const slow = { firstByteDelayMs: 4000 };
    const created = await client.messages.batches.create({
      requests: [1, 2, 3].map((i) => ({
        custom_id: `s${i}`,
        params: params('openai,gpt-fake', `mem-slow-${i}`, slow),
      })),
    });
    await eventually(() => gw!.fake.inFlight() === 1, 5000);
    await client.messages.batches.cancel(created.id);
    const ended = await waitForStatus(client, created.id, 'ended', 5000);
    expect(ended.request_counts).toEqual({
      processing: 0,
      succeeded: 0,
      errored: 0,
      canceled: 3,
      expired: 0,
    });
    expect(gw.fake.requests.filter((r) => /mem-slow-[23]/.test(textOf(r.body)))).toEqual([]);
  });

  it('a batch bigger than a provider rate limit runs at that limit instead of ending errored', async () => {
    // 60 RPM: a burst of 60, then one a second; attempts 2 with 200 ms backoff would be spent in a blink.
    gw = await startBatchGateway({
      config: { RateLimit: { enabled: true, providers: { openai: { rpm: 60 } } } },
    });
    const client = sdk(gw.url);
    const n = 63;
    const created = await client.messages.batches.create({
      requests: Array.from({ length: n }, (_, i) => ({
        custom_id: `r${i}`,
        params: params('openai,gpt-fake', `limited-${i}`),
      })),
    });
    const ended = await waitForStatus(client, created.id, 'ended', 20_000);
    expect(ended.request_counts).toEqual({
      processing: 0,
      succeeded: n,
      errored: 0,
      canceled: 0,
      expired: 0,
    });
    // The waits were spent in the gateway: every request reached the upstream exactly once.
    expect(gw.fake.count({ api: 'openai' })).toBe(n);
  });

  it('a request waiting for capacity is canceled with its batch', async () => {
    gw = await startBatchGateway({
      config: { RateLimit: { enabled: true, providers: { openai: { rpm: 1 } } } },
    });
    const client = sdk(gw.url);
    const created = await client.messages.batches.create({
      requests: [
        { custom_id: 'first', params: params('openai,gpt-fake', 'rpm1-first') },
        { custom_id: 'second', params: params('openai,gpt-fake', 'rpm1-second') },
      ],
    });
    await eventually(
      async () => (await client.messages.batches.retrieve(created.id)).request_counts.succeeded === 1,
    );
    await new Promise((r) => setTimeout(r, 1000));
    // Still waiting for the next minute's request, not errored after its two attempts.
    expect((await client.messages.batches.retrieve(created.id)).request_counts).toMatchObject({
      processing: 1,
      errored: 0,
    });
    await client.messages.batches.cancel(created.id);
    const ended = await waitForStatus(client, created.id, 'ended', 3000);
    expect(ended.request_counts).toMatchObject({ succeeded: 1, canceled: 1, errored: 0 });
    expect(gw.fake.count({ api: 'openai' })).toBe(1);
  });

  it('cancel and delete as the Python SDK sends them: JSON content type, empty body', async () => {
    gw = await startBatchGateway({});
    const client = sdk(gw.url);
    const created = await client.messages.batches.create({
      requests: [{ custom_id: 'p', params: params('openai,gpt-fake', 'py-1', { firstByteDelayMs: 4000 }) }],
    });
    const bodyless = (method: 'post' | 'delete', path: string): request.Test =>
      (method === 'post' ? request(gw!.url).post(path) : request(gw!.url).delete(path))
        .set('content-type', 'application/json')
        .set('content-length', '0')
        .set('x-api-key', 'test');
    const canceled = await bodyless('post', `/v1/messages/batches/${created.id}/cancel`).expect(200);
    expect(canceled.body).toMatchObject({ id: created.id, type: 'message_batch' });
    expect(['canceling', 'ended']).toContain(canceled.body.processing_status);
    await waitForStatus(client, created.id, 'ended', 5000);
    const deleted = await bodyless('delete', `/v1/messages/batches/${created.id}`).expect(200);
    expect(deleted.body).toEqual({ id: created.id, type: 'message_batch_deleted' });
    // A route that needs a body still says so, in the client's format.
    const empty = await bodyless('post', '/v1/messages').expect(400);
    expect(empty.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });

  it('sits behind the API key like /v1/messages', async () => {
    gw = await startBatchGateway({ config: { APIKEY: 'the-key' } });
    const denied = await request(gw.url).get('/v1/messages/batches').expect(401);
    expect(denied.body.error.type).toBe('authentication_error');
    const client = new Anthropic({ baseURL: gw.url, apiKey: 'the-key', maxRetries: 0 });
    const created = await client.messages.batches.create({
      requests: [{ custom_id: 'k', params: params('openai,gpt-fake', 'keyed') }],
    });
    await waitForStatus(client, created.id, 'ended');
    // The SDK follows results_url with its key; without one the results stay closed.
    expect((await resultsOf(client, created.id)).map((r) => r.result.type)).toEqual(['succeeded']);
    await request(gw.url).get(`/v1/messages/batches/${created.id}/results`).expect(401);
  });

  it('Batches.enabled false: the routes do not exist', async () => {
    gw = await startBatchGateway({ batches: { enabled: false } });
    for (const [method, path] of [
      ['post', '/v1/messages/batches'],
      ['get', '/v1/messages/batches'],
      ['get', '/v1/messages/batches/msgbatch_01ARZ3NDEKTSV4RRFFQ69G5FAV'],
    ] as const) {
      const res = await request(gw.url)[method](path).send({ requests: [] }).expect(404);
      expect(res.body).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    }
  });
});
