import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { fakeProviders, startGateway, type GatewayUnderTest } from '../support/gateway';

/** Models are only listed here, never called: a closed port will do as their upstream. */
const NOWHERE = 'http://127.0.0.1:9';
const SLASHED = ['vendor/model-x', 'org/sub/model:free'];

describe('models API', () => {
  let gw: GatewayUnderTest;
  let anthropic: Anthropic;
  let openai: OpenAI;
  let ids: string[];

  beforeAll(async () => {
    gw = await startGateway({
      config: {
        Providers: [
          ...fakeProviders(NOWHERE),
          { name: 'router', api_base_url: `${NOWHERE}/v1/chat/completions`, api_key: 'k', models: SLASHED },
        ],
        Failover: { health: { enabled: false } },
      },
    });
    anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'k', maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'k', maxRetries: 0 });
    const all = (await (await fetch(`${gw.url}/v1/models?limit=1000`)).json()) as {
      data: Array<{ id: string }>;
    };
    ids = all.data.map((m) => m.id);
  });
  afterAll(() => gw.stop());

  it('the list has every target, slashed model names included', () => {
    expect(ids).toEqual([
      'openai,gpt-fake',
      'openai,haiku-fake',
      'openai,long-fake',
      'anthropic,claude-fake',
      'gemini,gemini-fake',
      'router,vendor/model-x',
      'router,org/sub/model:free',
    ]);
  });

  describe('retrieve', () => {
    it('Anthropic SDK: models.retrieve() gives ModelInfo for every listed id', async () => {
      for (const id of ids) {
        const info = await anthropic.models.retrieve(id);
        expect(info).toMatchObject({ type: 'model', id, display_name: expect.any(String) });
        expect(new Date(info.created_at).toISOString()).toBe(info.created_at);
      }
    });

    it('OpenAI SDK: models.retrieve() gives Model for every listed id', async () => {
      for (const id of ids) {
        const model = await openai.models.retrieve(id);
        expect(model).toEqual({
          id,
          object: 'model',
          created: expect.any(Number),
          owned_by: id.split(',')[0],
        });
      }
    });

    it('the id may also come unencoded in the path (curl)', async () => {
      const res = await fetch(`${gw.url}/v1/models/router,org/sub/model:free`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ type: 'model', id: 'router,org/sub/model:free' });
    });

    it('an unknown id is 404 in each client format', async () => {
      const aerr = await anthropic.models.retrieve('openai,nope').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(aerr).toBeInstanceOf(Anthropic.NotFoundError);
      expect((aerr as InstanceType<typeof Anthropic.NotFoundError>).error).toMatchObject({
        type: 'error',
        error: { type: 'not_found_error', message: expect.stringContaining('openai,nope') },
      });
      const oerr = await openai.models.retrieve('router/vendor').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(oerr).toBeInstanceOf(OpenAI.NotFoundError);
      expect((oerr as InstanceType<typeof OpenAI.NotFoundError>).error).toMatchObject({
        type: 'not_found_error',
        message: expect.stringContaining('router/vendor'),
      });
      // A prefix or an id the registry would resolve loosely is still not an id of the list.
      for (const id of ['openai', 'openai,', 'OPENAI,gpt-fake', 'router,vendor']) {
        const res = await fetch(`${gw.url}/v1/models/${encodeURIComponent(id)}`);
        expect({ id, status: res.status }).toEqual({ id, status: 404 });
      }
    });
  });

  describe('Anthropic list paging', () => {
    it('client.models.list({limit}) pages through every id in order (has_more, last_id → after_id)', async () => {
      const first = await anthropic.models.list({ limit: 2 });
      expect(first.data.map((m) => m.id)).toEqual(ids.slice(0, 2));
      expect(first.has_more).toBe(true);
      expect(first.first_id).toBe(ids[0]);
      expect(first.last_id).toBe(ids[1]);
      const seen: string[] = [];
      for await (const model of anthropic.models.list({ limit: 3 })) {
        seen.push(model.id);
      }
      expect(seen).toEqual(ids);
    });

    it('after_id, before_id, limit and has_more at both ends', async () => {
      const page = async (query: string) =>
        (await (await fetch(`${gw.url}/v1/models?${query}`)).json()) as {
          data: Array<{ id: string }>;
          has_more: boolean;
          first_id: string | null;
          last_id: string | null;
        };
      const last = await page(`limit=2&after_id=${encodeURIComponent(ids[4])}`);
      expect(last).toMatchObject({ has_more: false, first_id: ids[5], last_id: ids[6] });
      const before = await page(`limit=2&before_id=${encodeURIComponent(ids[4])}`);
      expect(before.data.map((m) => m.id)).toEqual([ids[2], ids[3]]);
      expect(before.has_more).toBe(true);
      const start = await page(`limit=5&before_id=${encodeURIComponent(ids[2])}`);
      expect(start).toMatchObject({ has_more: false, first_id: ids[0], last_id: ids[1] });
      const empty = await page(`after_id=${encodeURIComponent(ids[6])}`);
      expect(empty).toEqual({ data: [], has_more: false, first_id: null, last_id: null });
      expect((await page('')).data).toHaveLength(ids.length); // default limit 20
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=two', 'limit'],
      ['after_id=nope', 'after_id'],
      ['after_id=openai,gpt-fake&before_id=gemini,gemini-fake', 'before_id'],
    ])('?%s → 400 naming %s', async (query, field) => {
      const err = await fetch(`${gw.url}/v1/models?${query}`, {
        headers: { 'anthropic-version': '2023-06-01' },
      });
      expect(err.status).toBe(400);
      expect(await err.json()).toMatchObject({
        type: 'error',
        error: { type: 'invalid_request_error', message: expect.stringMatching(new RegExp(`^${field}: `)) },
      });
    });

    it('OpenAI SDK: models.list() has every id', async () => {
      const seen: string[] = [];
      for await (const model of openai.models.list()) {
        seen.push(model.id);
      }
      expect(seen).toEqual(ids);
    });
  });
});
