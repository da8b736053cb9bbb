import { __resetOutOfContextForTests } from 'nestjs-pino/PinoLogger';
import { PoolMaintenance } from '../../src/providers/pool-maintenance';
import { ProviderRegistryService } from '../../src/providers/provider-registry.service';
import { UpstreamClient } from '../../src/providers/upstream.client';
import { eventually } from '../support/gateway';
import { startTestApp } from '../support/test-app';
import {
  isProbe,
  POOLS,
  recordingLogger,
  refusedOrigin,
  startUpstream,
  type UpstreamServer,
} from './upstream-server';

describe('pool warm-up', () => {
  let server: UpstreamServer;
  let client: UpstreamClient;
  beforeEach(async () => {
    server = await startUpstream();
    client = new UpstreamClient({ autoTune: { min: 4, max: 64 } });
  });
  afterEach(async () => {
    await client.destroy();
    await server.close();
  });

  it('opens warmConnections sockets per origin before any request, and requests reuse them', async () => {
    const log = recordingLogger();
    const pools = new PoolMaintenance(client, POOLS, log);
    const [result] = await pools.start([{ origin: server.origin }]);
    pools.stop();

    expect(result).toMatchObject({ origin: server.origin, opened: 4, failed: 0 });
    expect(server.connections).toBe(4);
    expect(server.requests).toEqual(Array.from({ length: 4 }, () => ({ method: 'GET', url: '/' })));
    // undici marks a socket free a tick after its response completed.
    await eventually(() => client.stats()[0]?.free === 4);
    expect(client.stats()).toEqual([
      expect.objectContaining({ origin: server.origin, connected: 4, free: 4, running: 0, limit: 4 }),
    ]);
    expect(log.lines.filter((l) => l.level === 'warn')).toEqual([]);

    await Promise.all(
      Array.from({ length: 4 }, async () => {
        const res = await client.request({ url: `${server.origin}/v1/messages`, body: '{}' });
        await res.body.dump();
      }),
    );
    expect(server.connections).toBe(4); // no new handshake: the first requests found open sockets
  });

  it('honours an explicit per-provider connections cap (that origin is not tuned)', async () => {
    const pools = new PoolMaintenance(client, { ...POOLS, warmConnections: 6 }, recordingLogger());
    await pools.start([{ origin: server.origin, pool: { connections: 2 } }]);
    pools.stop();
    expect(server.connections).toBe(2);
    expect(client.stats()[0]).toMatchObject({ connected: 2, limit: 2, tuneEvents: 0 });
  });

  it('logs a refused origin at warn and does not throw', async () => {
    const dead = await refusedOrigin();
    const log = recordingLogger();
    const pools = new PoolMaintenance(client, POOLS, log);
    const results = await pools.start([{ origin: dead }, { origin: server.origin }]);
    pools.stop();
    expect(results[0]).toMatchObject({ origin: dead, opened: 0, failed: 4 });
    expect(results[0].error).toMatch(/ECONNREFUSED/);
    expect(results[1]).toMatchObject({ opened: 4, failed: 0 });
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      'upstream pool warm-up incomplete',
    ]);
  });

  it('gives up on an origin that never answers after warmupTimeoutMs', async () => {
    const silent = await startUpstream(() => undefined);
    try {
      const pools = new PoolMaintenance(client, { ...POOLS, warmupTimeoutMs: 300 }, recordingLogger());
      const started = Date.now();
      const [r] = await pools.start([{ origin: silent.origin }]);
      pools.stop();
      expect(Date.now() - started).toBeLessThan(1500);
      expect(r).toMatchObject({ opened: 0, failed: 4 });
    } finally {
      await silent.close();
    }
  });
});

// Pools.warmup is set explicitly: the test environment may turn it off so fakes count only real calls.
describe('pool warm-up in the application', () => {
  // nestjs-pino keeps its out-of-request logger per process: without a reset, services of a second app
  // in this file would log into the first app's capture.
  beforeEach(() => __resetOutOfContextForTests());

  const providers = (origin: string) => [
    { name: 'up', api_base_url: `${origin}/v1/chat/completions`, api_key: 'k', models: ['m'] },
  ];

  it('warms every configured origin during startup, before the first request', async () => {
    const server = await startUpstream();
    const app = await startTestApp({
      userConfig: {
        Providers: providers(server.origin),
        Router: { default: 'up,m' },
        Pools: { warmup: true },
      },
    });
    try {
      expect(server.connections).toBe(4);
      expect(server.requests.every(isProbe)).toBe(true);
      const stats = app.app.get(ProviderRegistryService).client.stats();
      expect(stats).toEqual([expect.objectContaining({ origin: server.origin, connected: 4, limit: 4 })]);
    } finally {
      await app.close();
      await server.close();
    }
  });

  it('starts even when a provider refuses connections, with a warning', async () => {
    const dead = await refusedOrigin();
    const app = await startTestApp({
      userConfig: { Providers: providers(dead), Router: { default: 'up,m' }, Pools: { warmup: true } },
    });
    try {
      const res = await fetch(`${app.url}/health/live`);
      expect(res.status).toBe(200);
      const isWarning = (r: Record<string, unknown>) => r.msg === 'upstream pool warm-up incomplete';
      await eventually(() => app.logs.records.some(isWarning));
      expect(app.logs.records.find(isWarning)).toMatchObject({
        level: 40,
        pool: { origin: dead, opened: 0, failed: 4 },
      });
    } finally {
      await app.close();
    }
  });

  it('does nothing at startup with Pools.warmup false', async () => {
    const server = await startUpstream();
    const app = await startTestApp({
      userConfig: {
        Providers: providers(server.origin),
        Router: { default: 'up,m' },
        Pools: { warmup: false },
      },
    });
    try {
      expect(server.connections).toBe(0);
    } finally {
      await app.close();
      await server.close();
    }
  });
});
