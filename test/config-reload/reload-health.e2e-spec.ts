import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from '../support/gateway';
import { SECRETS, provider, startReloadRig, type ReloadRig, type UserConfig } from './support';

interface Ready {
  details: { providers: { probes: Record<string, { ok: boolean }> } };
}

interface ProvidersView {
  targets: Array<{
    target: string;
    keyBad: { status: number; message: string } | null;
    stats: { samples: number };
  }>;
}

/** Probes and health state follow the provider list a reload brings. */
describe('health after a reload', () => {
  let rig: ReloadRig;

  beforeAll(async () => {
    rig = await startReloadRig({
      extra: { Failover: { health: { enabled: true, mode: 'models', intervalMs: 100, timeoutMs: 2000 } } },
    });
  });
  afterAll(() => rig.stop());

  const probes = async (): Promise<string[]> => {
    const body = (await (await fetch(`${rig.url}/health/ready`)).json()) as Ready;
    return Object.keys(body.details.providers.probes).sort();
  };
  const target = async (name: string): Promise<ProvidersView['targets'][number] | undefined> => {
    const body = (await (await rig.api('GET', '/api/providers')).json()) as ProvidersView;
    return body.targets.find((t) => t.target === name);
  };

  it('probes start for an added provider and stop being reported for a removed one', async () => {
    await eventually(async () => (await probes()).join() === 'alpha,beta', 20_000);
    rig.save(
      rig.config({
        Providers: [
          provider('beta', rig.beta, 'b-model', SECRETS.beta),
          provider('gamma', rig.alpha, 'g-model', 'sk-gamma-secret-0010'),
        ],
        Router: { default: 'beta,b-model', longContextThreshold: 60000 },
      }),
    );
    expect((await rig.api('POST', '/api/config/reload')).status).toBe(200);
    expect(await probes()).not.toContain('alpha');
    await eventually(async () => (await probes()).join() === 'beta,gamma', 20_000);
    await eventually(
      () =>
        rig.alpha.requests.some(
          (r) => r.api === 'models' && r.headers.authorization === 'Bearer sk-gamma-secret-0010',
        ),
      20_000,
    );
  });

  it('a probe still running when its provider is removed does not bring its result back', async () => {
    const held: ServerResponse[] = [];
    const slow = createServer((_req, res) => held.push(res));
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/v1/models`;
    try {
      rig.save(
        rig.config({
          Providers: [
            { ...provider('alpha', rig.alpha, 'a-model', SECRETS.alpha), health: { url, timeoutMs: 10_000 } },
            provider('beta', rig.beta, 'b-model', SECRETS.beta),
          ],
        }),
      );
      expect((await rig.api('POST', '/api/config/reload')).status).toBe(200);
      await eventually(() => held.length > 0, 10_000);
      rig.save(
        rig.config({
          Providers: [provider('beta', rig.beta, 'b-model', SECRETS.beta)],
          Router: { default: 'beta,b-model', longContextThreshold: 60000 },
        }),
      );
      expect((await rig.api('POST', '/api/config/reload')).status).toBe(200);
      for (const res of held) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[]}');
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await probes()).toEqual(['beta']);
    } finally {
      slow.closeAllConnections();
      await new Promise((resolve) => slow.close(resolve));
    }
  });

  it('a new api_key clears the "key rejected" flag; an upstream error echoing the key is never shown', async () => {
    rig.save(rig.config());
    expect((await rig.api('POST', '/api/config/reload')).status).toBe(200);
    rig.alpha.configure({
      fault: {
        type: 'status',
        status: 401,
        body: {
          error: { message: `Incorrect API key provided: ${SECRETS.alpha}`, type: 'invalid_request_error' },
        },
      },
    });
    expect((await rig.message()).status).toBe(401);
    const bad = await target('alpha,a-model');
    expect(bad?.keyBad?.status).toBe(401);
    const text = await (await rig.api('GET', '/api/providers')).text();
    expect(text).toContain('Incorrect API key provided: [redacted]');
    expect(text).not.toContain(SECRETS.alpha);

    rig.alpha.configure({ fault: null });
    const rotated = { ...provider('alpha', rig.alpha, 'a-model', 'sk-alpha-rotated-0011') };
    rig.save(rig.config({ Providers: [rotated, provider('beta', rig.beta, 'b-model', SECRETS.beta)] }));
    expect((await rig.api('POST', '/api/config/reload')).status).toBe(200);
    const fresh = await target('alpha,a-model');
    expect(fresh?.keyBad ?? null).toBeNull();
    expect(fresh?.stats.samples ?? 0).toBe(0);
    expect((await rig.message()).status).toBe(200);
    const last = rig.alpha.requests.filter((r) => r.api === 'openai').pop();
    expect(last?.headers.authorization).toBe('Bearer sk-alpha-rotated-0011');
  });

  it('a removed provider or model leaves /api/providers, also a target no attempt has scored yet', async () => {
    const listed = async (): Promise<string[]> => {
      const body = (await (await rig.api('GET', '/api/providers')).json()) as ProvidersView;
      return body.targets.map((t) => t.target);
    };
    const alpha = (models: string[]): UserConfig => ({
      ...provider('alpha', rig.alpha, 'a-model', SECRETS.alpha),
      models,
    });
    const beta = provider('beta', rig.beta, 'b-model', SECRETS.beta);
    rig.save(rig.config({ Providers: [alpha(['a-model', 'a-spare']), beta] }));
    expect((await rig.api('POST', '/api/config/reload')).status).toBe(200);
    expect((await rig.message()).status).toBe(200);
    expect(await listed()).toEqual(['alpha,a-model', 'alpha,a-spare', 'beta,b-model']);

    rig.save(rig.config({ Providers: [alpha(['a-model']), beta] }));
    expect((await rig.api('POST', '/api/config/reload')).status).toBe(200);
    expect(await listed()).toEqual(['alpha,a-model', 'beta,b-model']);

    rig.save(
      rig.config({ Providers: [beta], Router: { default: 'beta,b-model', longContextThreshold: 60000 } }),
    );
    expect((await rig.api('POST', '/api/config/reload')).status).toBe(200);
    expect(await listed()).toEqual(['beta,b-model']);
  });

  it('a provider pointed at another endpoint starts learning its deadlines over', async () => {
    interface Timeouts {
      targets: Array<{ target: string; firstByteSource: string; ttfb: { samples: number } }>;
    }
    const learned = async (): Promise<Timeouts['targets'][number] | undefined> => {
      const body = (await (await rig.api('GET', '/api/timeouts')).json()) as Timeouts;
      return body.targets.find((t) => t.target === 'alpha,a-model');
    };
    const alpha = provider('alpha', rig.alpha, 'a-model', SECRETS.alpha);
    const beta = provider('beta', rig.beta, 'b-model', SECRETS.beta);
    rig.save(rig.config({ Providers: [alpha, beta], AdaptiveTimeout: { minSamples: 2 } }));
    expect((await rig.api('POST', '/api/config/reload')).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      expect((await rig.message()).status).toBe(200);
    }
    expect((await learned())?.firstByteSource).toBe('learned');

    const moved = { ...provider('alpha', rig.beta, 'a-model', SECRETS.alpha) };
    rig.save(rig.config({ Providers: [moved, beta], AdaptiveTimeout: { minSamples: 2 } }));
    expect((await rig.api('POST', '/api/config/reload')).status).toBe(200);
    expect((await learned())?.ttfb.samples ?? 0).toBe(0);
  });
});
