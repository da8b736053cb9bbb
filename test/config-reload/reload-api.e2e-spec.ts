import Anthropic from '@anthropic-ai/sdk';
import { SECRETS, provider, reloadCount, startReloadRig, type ReloadRig } from './support';

interface ReloadBody {
  result: string;
  changed: string[];
  restartRequired: string[];
}

interface PlainError {
  error: { type: string; message: string };
}

describe('POST /api/config/reload and GET /api/config', () => {
  let rig: ReloadRig;
  let client: Anthropic;

  beforeAll(async () => {
    // info: the line saying a file is valid again is not a warning.
    rig = await startReloadRig({ extra: { Logging: { level: 'info' } } });
    client = new Anthropic({ baseURL: rig.url, apiKey: SECRETS.gateway, maxRetries: 0 });
  });
  afterAll(() => rig.stop());

  /** Saves `config`, reloads through the API, and returns the answer. */
  const reloadWith = async (config: Record<string, unknown> | string): Promise<Response> => {
    rig.save(config);
    return rig.api('POST', '/api/config/reload');
  };

  it('needs the API key', async () => {
    expect((await rig.api('POST', '/api/config/reload', null)).status).toBe(401);
    expect((await rig.api('POST', '/api/config/reload', 'wrong-key')).status).toBe(401);
    expect((await rig.api('GET', '/api/config', null)).status).toBe(401);
  });

  it('answers unchanged when the file did not change', async () => {
    const res = await rig.api('POST', '/api/config/reload');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ result: 'unchanged', changed: [], restartRequired: [] });
  });

  it('a new Router.default takes the next request (Anthropic SDK)', async () => {
    const before = await client.messages.create({
      model: 'claude-sonnet-4',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'first' }],
    });
    expect(before.content[0]).toMatchObject({ type: 'text', text: 'Hello from fake provider' });
    expect(rig.alpha.count({ model: 'a-model' })).toBe(1);

    const res = await reloadWith(
      rig.config({ Router: { default: 'beta,b-model', longContextThreshold: 60000 } }),
    );
    expect(res.status).toBe(200);
    expect((await res.json()) as ReloadBody).toEqual(
      expect.objectContaining({ result: 'applied', changed: ['Router'], restartRequired: [] }),
    );

    const after = await client.messages.create({
      model: 'claude-sonnet-4',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'second' }],
    });
    expect(after.content[0]).toMatchObject({ type: 'text' });
    expect(rig.beta.count({ model: 'b-model' })).toBe(1);
    expect(rig.alpha.count()).toBe(1);
  });

  it("a changed api_base_url sends the provider's next request to the new upstream, with its key", async () => {
    const moved = { ...provider('alpha', rig.beta, 'a-model', SECRETS.alpha) };
    const res = await reloadWith(
      rig.config({ Providers: [moved, provider('beta', rig.beta, 'b-model', SECRETS.beta)] }),
    );
    expect(((await res.json()) as ReloadBody).changed).toContain('Providers');
    const alphaBefore = rig.alpha.count();
    expect((await rig.message('alpha,a-model')).status).toBe(200);
    expect(rig.alpha.count()).toBe(alphaBefore);
    const last = rig.beta.requests[rig.beta.requests.length - 1];
    expect(last.model).toBe('a-model');
    expect(last.headers.authorization).toBe(`Bearer ${SECRETS.alpha}`);
  });

  it('an added provider is routable at once', async () => {
    const providers = [
      provider('alpha', rig.alpha, 'a-model', SECRETS.alpha),
      provider('beta', rig.beta, 'b-model', SECRETS.beta),
      provider('gamma', rig.alpha, 'g-model', 'sk-gamma-0008'),
    ];
    expect((await rig.message('gamma,g-model')).status).toBe(404);
    const res = await reloadWith(
      rig.config({ Providers: providers, Router: { default: 'gamma,g-model', longContextThreshold: 60000 } }),
    );
    expect(((await res.json()) as ReloadBody).changed).toEqual(['Providers', 'Router']);
    expect((await rig.message()).status).toBe(200);
    expect(rig.alpha.requests[rig.alpha.requests.length - 1].model).toBe('g-model');
    const models = (await (await rig.api('GET', '/v1/models')).json()) as { data: Array<{ id: string }> };
    expect(models.data.map((m) => m.id)).toContain('gamma,g-model');
  });

  describe('a rejected configuration keeps the running one', () => {
    beforeAll(async () => {
      expect((await reloadWith(rig.config())).status).toBe(200); // back to alpha as the default
    });

    const expectStillServing = async (): Promise<void> => {
      const before = rig.alpha.count();
      expect((await rig.message()).status).toBe(200);
      expect(rig.alpha.count()).toBe(before + 1);
    };

    it('invalid JSON: 400 naming the file, an error log line, the old routes still serve', async () => {
      const rejected = await reloadCount(rig, 'rejected');
      const res = await reloadWith('{ "Router": { "default": "beta,b-model", }');
      expect(res.status).toBe(400);
      const body = (await res.json()) as PlainError;
      expect(body.error.type).toBe('invalid_request_error');
      expect(body.error.message).toContain(`invalid JSON5 in ${rig.file}`);
      const line = rig.logs.records.find(
        (r) => r.level === 50 && String(r.msg).includes('configuration reload rejected'),
      );
      expect(String(line?.msg)).toContain(`invalid JSON5 in ${rig.file}`);
      expect(await reloadCount(rig, 'rejected')).toBe(rejected + 1);
      await expectStillServing();
    });

    it('a schema error: the key path and the file are named', async () => {
      const broken = rig.config();
      (broken.Providers as Array<Record<string, unknown>>)[1].api_base_url = 'not a url';
      const res = await reloadWith(broken);
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as PlainError;
      expect(error.message).toContain(
        `Providers[1].api_base_url: must be an absolute http(s) URL (from ${rig.file})`,
      );
      expect(rig.logs.text).toContain('Providers[1].api_base_url: must be an absolute http(s) URL');
      await expectStillServing();
    });

    it('a Router slot naming an unknown provider', async () => {
      const res = await reloadWith(
        rig.config({ Router: { default: 'ghost,g-model', longContextThreshold: 60000 } }),
      );
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as PlainError;
      expect(error.message).toContain(
        'Router.default: "ghost,g-model" names provider "ghost", which is not in Providers',
      );
      await expectStillServing();
      const view = (await (await rig.api('GET', '/api/config')).json()) as {
        config: { Router: { default: string } };
        meta: { lastReload: { result: string; problem: string } };
      };
      expect(view.config.Router.default).toBe('alpha,a-model');
      expect(view.meta.lastReload.result).toBe('rejected');
      expect(view.meta.lastReload.problem).toContain('ghost');
    });

    it('the file fixed back to the running configuration says so in the log', async () => {
      expect((await reloadWith('{ "Router": ')).status).toBe(400);
      const res = await reloadWith(rig.config());
      expect(res.status).toBe(200);
      expect(((await res.json()) as { result: string }).result).toBe('unchanged');
      const line = rig.logs.records.find(
        (r) => r.level === 30 && String(r.msg).includes('configuration valid again'),
      );
      expect(line).toBeDefined();
    });
  });

  it('restart-only settings keep their running values and are reported', async () => {
    const config = rig.config({ HOST: '0.0.0.0', Redis: { password: SECRETS.redis, keyPrefix: 'other:' } });
    const res = await reloadWith(config);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(
      expect.objectContaining({ result: 'unchanged', changed: [], restartRequired: ['HOST', 'Redis'] }),
    );
    expect(rig.logs.text).toContain('HOST, Redis change only with a restart');
    const view = (await (await rig.api('GET', '/api/config')).json()) as {
      config: { HOST?: string; Redis: { keyPrefix: string } };
    };
    expect(view.config.HOST).toBeUndefined();
    expect(view.config.Redis.keyPrefix).toBe('ccr:');
    await reloadWith(rig.config());
  });

  it('GET /api/config shows the effective configuration and never a configured secret', async () => {
    const res = await rig.api('GET', '/api/config');
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const secret of Object.values(SECRETS)) {
      expect(text).not.toContain(secret);
    }
    const view = JSON.parse(text) as {
      config: {
        APIKEY: string;
        Providers: Array<{ api_key: string; headers?: Record<string, string> }>;
        Router: { default: string };
      };
      meta: { sources: string[]; generation: number; loadedAt: string; lastReload: { result: string } };
    };
    expect(view.config.APIKEY).toBe('[redacted]');
    expect(view.config.Providers[0].api_key).toBe('[redacted]');
    expect(view.config.Providers[0].headers).toEqual({ 'x-custom-auth': '[redacted]' });
    expect(view.config.Router.default).toBe('alpha,a-model');
    expect(view.meta.sources).toContain(rig.file);
    expect(view.meta.generation).toBeGreaterThan(1);
    expect(Number.isNaN(Date.parse(view.meta.loadedAt))).toBe(false);
  });

  it('no /api endpoint answers with a configured secret', async () => {
    for (const path of [
      '/api/providers',
      '/api/ratelimit',
      '/api/stats',
      '/api/timeouts',
      '/api/queue',
      '/api/affinity',
    ]) {
      const text = await (await rig.api('GET', path)).text();
      for (const secret of Object.values(SECRETS)) {
        expect(`${path}: ${text}`).not.toContain(secret);
      }
    }
  });

  it('a changed APIKEY applies to the next request', async () => {
    const res = await reloadWith(rig.config({ APIKEY: 'rotated-key-0009' }));
    expect(res.status).toBe(200);
    expect((await rig.api('GET', '/api/config')).status).toBe(401);
    expect((await rig.api('GET', '/api/config', 'rotated-key-0009')).status).toBe(200);
    rig.save(rig.config());
    expect((await rig.api('POST', '/api/config/reload', 'rotated-key-0009')).status).toBe(200);
    expect((await rig.api('GET', '/api/config')).status).toBe(200);
  });
});
