import { startFakeProvider, type FakeProvider } from '../fake-provider';
import { runGateway, waitForHealth, writeConfig, type GatewayProcess } from '../support/gateway-process';
import { freePort } from '../support/redis-server';
import { fakeProvider } from './support';

/**
 * The real OTLP exporter in a real process (`src/main.ts`; under Jest the exporter's dynamic `import('http')`
 * cannot run, so in-process tests use the in-memory exporter) against a collector that is not there.
 */
describe('tracing with the collector down (gateway process)', () => {
  let fake: FakeProvider;
  let gw: GatewayProcess;
  let url: string;

  beforeAll(async () => {
    fake = await startFakeProvider();
    const [port, collectorPort] = await Promise.all([freePort(), freePort()]);
    const config = writeConfig({
      Providers: [fakeProvider('good', fake.url)],
      Router: { default: 'good,m1' },
      Pools: { warmup: false, healthPingMs: 0 },
      Failover: { health: { enabled: false, mode: 'models', intervalMs: 30000, timeoutMs: 5000 } },
      Logging: { level: 'warn' },
      Server: { shutdownGraceMs: 2000 },
      Tracing: {
        enabled: true,
        endpoint: `http://127.0.0.1:${collectorPort}/v1/traces`,
        exportTimeoutMs: 1500,
      },
    });
    gw = runGateway({ SWITCHYARD_CONFIG: config, PORT: String(port), NODE_ENV: 'production' });
    url = `http://127.0.0.1:${port}`;
    await waitForHealth(url, 60_000);
  });
  afterAll(async () => {
    if (gw.child.exitCode === null) {
      gw.child.kill('SIGKILL');
      await gw.exited;
    }
    await fake.close();
  });

  const ask = async (i: number): Promise<number> => {
    const started = Date.now();
    const res = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'x',
        max_tokens: 16,
        messages: [{ role: 'user', content: `dead collector ${i}` }],
      }),
    });
    expect(res.status).toBe(200);
    await res.text();
    return Date.now() - started;
  };
  const logLines = (): Array<Record<string, unknown>> =>
    gw
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('requests never wait for it; failed exports are logged once a minute; shutdown stays bounded', async () => {
    // Two waves, each exported (and failing) on the 2 s batch timer.
    for (const wave of [0, 1]) {
      for (let i = 0; i < 3; i++) {
        expect(await ask(wave * 10 + i)).toBeLessThan(1000);
      }
      await new Promise((r) => setTimeout(r, 4000));
    }
    const otel = logLines().filter((r) => String(r.msg).startsWith('otel:'));
    expect(otel).toHaveLength(1);
    expect(String(otel[0].msg)).toMatch(/ECONNREFUSED|export|connect/i);
    // It belongs to no request: the export runs outside every request's context.
    expect(otel[0].requestId).toBeUndefined();
    expect(otel[0].trace_id).toBeUndefined();

    const stopping = Date.now();
    gw.child.kill('SIGTERM');
    await gw.exited; // exit 0 once its shutdown hooks (the trace flush among them) are done
    expect(gw.child.exitCode).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(6000);
  });
});
