import Anthropic from '@anthropic-ai/sdk';
import request from 'supertest';
import type { GatewayUnderTest } from '../support/gateway';
import {
  deleteKeys,
  keysUnder,
  params,
  resultsOf,
  sdk,
  startBatchGateway,
  uniquePrefix,
  waitForStatus,
} from './support';

describe('Message Batches API surface on Redis (official SDK): validation, 404s, list, results, delete', () => {
  let prefix: string;
  let gw: GatewayUnderTest | undefined;
  let client: Anthropic;

  const start = async (options: Parameters<typeof startBatchGateway>[0] = {}): Promise<GatewayUnderTest> => {
    gw = await startBatchGateway({ prefix, ...options });
    client = sdk(gw.url);
    return gw;
  };

  beforeEach(() => {
    prefix = uniquePrefix();
  });
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
    await deleteKeys(prefix);
  });

  it('validation errors are 400 invalid_request_error naming the request', async () => {
    await start();
    const rejected = async (body: unknown): Promise<string> => {
      const err = await client.messages.batches.create(body as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Anthropic.BadRequestError);
      const api = err as InstanceType<typeof Anthropic.BadRequestError>;
      expect(api.status).toBe(400);
      expect(api.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      return (api.error as { error: { message: string } }).error.message;
    };
    const ok = params('openai,gpt-fake', 'x');
    expect(await rejected({ requests: [] })).toMatch(/at least one request/);
    expect(await rejected({ requests: [{ custom_id: 'bad id!', params: ok }] })).toMatch(
      /^requests\[0\]\.custom_id/,
    );
    expect(
      await rejected({
        requests: [
          { custom_id: 'a', params: ok },
          { custom_id: 'a', params: ok },
        ],
      }),
    ).toMatch(/duplicate custom_id "a"/);
    expect(await rejected({ requests: [{ custom_id: 'a', params: 'x' }] })).toMatch(
      /^requests\[0\] \(custom_id "a"\): params: Field required/,
    );
    const tooMany = Array.from({ length: 4 }, (_, i) => ({ custom_id: `r${i}`, params: ok }));
    await gw!.stop();
    gw = undefined;
    await start({ batches: { maxRequests: 3 } });
    expect(await rejected({ requests: tooMany })).toMatch(/at most 3 requests/);
    // Nothing was stored or queued for any of them.
    expect((await client.messages.batches.list()).data).toEqual([]);
  });

  it('an invalid params is an errored result of its own, as on Anthropic: the rest of the batch runs', async () => {
    await start();
    const ok = params('openai,gpt-fake', 'fine');
    const created = await client.messages.batches.create({
      requests: [
        { custom_id: 'good', params: ok },
        { custom_id: 'no-max-tokens', params: { ...ok, max_tokens: undefined } as never },
        { custom_id: 'streaming', params: { ...ok, stream: true } as never },
      ],
    });
    expect(created.request_counts.processing).toBe(3);
    await waitForStatus(client, created.id, 'ended');
    const results = new Map((await resultsOf(client, created.id)).map((r) => [r.custom_id, r.result]));
    expect(results.get('good')).toMatchObject({ type: 'succeeded' });
    const invalid = (message: RegExp) => ({
      type: 'errored',
      error: {
        type: 'error',
        error: { type: 'invalid_request_error', message: expect.stringMatching(message) },
      },
    });
    expect(results.get('no-max-tokens')).toMatchObject(invalid(/^max_tokens: Field required/));
    expect(results.get('streaming')).toMatchObject(invalid(/^stream: streaming is not supported/));
    const ended = await client.messages.batches.retrieve(created.id);
    expect(ended.request_counts).toMatchObject({ succeeded: 1, errored: 2 });
  });

  it('unknown or malformed ids are 404 not_found_error on every route', async () => {
    await start();
    const unknown = 'msgbatch_01ARZ3NDEKTSV4RRFFQ69G5FAV';
    for (const call of [
      () => client.messages.batches.retrieve(unknown),
      () => client.messages.batches.cancel(unknown),
      () => client.messages.batches.delete(unknown),
      () => client.messages.batches.retrieve('nope'),
    ]) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Anthropic.NotFoundError);
      expect((err as InstanceType<typeof Anthropic.NotFoundError>).error).toMatchObject({
        type: 'error',
        error: { type: 'not_found_error' },
      });
    }
    const raw = await request(gw!.url).get(`/v1/messages/batches/${unknown}/results`).expect(404);
    expect(raw.body.error.type).toBe('not_found_error');
  });

  it('results and delete before the end are 400; delete after it removes the batch and its keys', async () => {
    await start({ batchQueue: { concurrency: 1 } });
    const created = await client.messages.batches.create({
      requests: [
        { custom_id: 'slow', params: params('openai,gpt-fake', 'tag-slow', { firstByteDelayMs: 1500 }) },
      ],
    });
    const early = await request(gw!.url).get(`/v1/messages/batches/${created.id}/results`).expect(400);
    expect(early.body.error).toMatchObject({
      type: 'invalid_request_error',
      message: expect.stringMatching(/not ended/),
    });
    const notYet = await client.messages.batches.delete(created.id).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(notYet).toBeInstanceOf(Anthropic.BadRequestError);

    await waitForStatus(client, created.id, 'ended');
    const raw = await request(gw!.url).get(`/v1/messages/batches/${created.id}/results`).expect(200);
    expect(raw.headers['content-type']).toMatch(/^application\/x-jsonl/);
    const lines = raw.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([{ custom_id: 'slow', result: expect.objectContaining({ type: 'succeeded' }) }]);

    expect(await client.messages.batches.delete(created.id)).toEqual({
      id: created.id,
      type: 'message_batch_deleted',
    });
    await expect(client.messages.batches.retrieve(created.id)).rejects.toBeInstanceOf(
      Anthropic.NotFoundError,
    );
    // The store's keys are gone (a completed BullMQ job stays for JobQueue.keepCompleted, the queue's business).
    expect((await keysUnder(prefix)).filter((k) => k.includes('batch:v1:'))).toEqual([]);
    expect((await client.messages.batches.list()).data).toEqual([]);
  });

  it('lists newest first with limit, after_id / before_id cursors and SDK auto-pagination', async () => {
    await start();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (
          await client.messages.batches.create({
            requests: [{ custom_id: 'only', params: params('openai,gpt-fake', `list-${i}`) }],
          })
        ).id,
      );
    }
    const newest = [...ids].reverse();
    const first = await client.messages.batches.list({ limit: 2 });
    expect(first.data.map((b) => b.id)).toEqual(newest.slice(0, 2));
    expect(first).toMatchObject({ has_more: true, first_id: newest[0], last_id: newest[1] });
    const all: string[] = [];
    for await (const batch of client.messages.batches.list({ limit: 2 })) {
      all.push(batch.id);
    }
    expect(all).toEqual(newest);
    const back = await client.messages.batches.list({ limit: 2, before_id: newest[4] });
    expect(back.data.map((b) => b.id)).toEqual(newest.slice(2, 4));
    expect(back.has_more).toBe(true);
    const raw = await request(gw!.url).get('/v1/messages/batches?limit=0').expect(400);
    expect(raw.body.error.type).toBe('invalid_request_error');
    await request(gw!.url).get('/v1/messages/batches?limit=1001').expect(400);
    await request(gw!.url).get('/v1/messages/batches?after_id=garbage').expect(400);
    const dflt = await request(gw!.url).get('/v1/messages/batches').expect(200);
    expect(dflt.body).toMatchObject({ has_more: false, first_id: newest[0], last_id: newest[4] });
  });

  it('results_url follows the origin the client used (Host, x-forwarded-*)', async () => {
    await start();
    const created = await client.messages.batches.create({
      requests: [{ custom_id: 'a', params: params('openai,gpt-fake', 'origin') }],
    });
    await waitForStatus(client, created.id, 'ended');
    const viaProxy = await request(gw!.url)
      .get(`/v1/messages/batches/${created.id}`)
      .set('x-forwarded-proto', 'https')
      .set('x-forwarded-host', 'llm.example.com')
      .expect(200);
    expect(viaProxy.body.results_url).toBe(
      `https://llm.example.com/v1/messages/batches/${created.id}/results`,
    );
    const direct = await request(gw!.url)
      .get(`/v1/messages/batches/${created.id}`)
      .set('host', 'gw.internal:8080');
    expect(direct.body.results_url).toBe(`http://gw.internal:8080/v1/messages/batches/${created.id}/results`);
  });
});
