import { PoolMaintenance } from '../../src/providers/pool-maintenance';
import { UpstreamClient } from '../../src/providers/upstream.client';
import { eventually } from '../support/gateway';
import { isProbe, POOLS, recordingLogger, startUpstream, type UpstreamServer } from './upstream-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('idle health pings', () => {
  let server: UpstreamServer;
  let client: UpstreamClient;
  let pools: PoolMaintenance | undefined;
  beforeEach(async () => {
    server = await startUpstream();
    // undici drops a socket idle for 1 s (keepAliveTimeout is also the cap on the server's hint).
    client = new UpstreamClient({ keepAliveTimeoutMs: 1000, autoTune: { min: 4, max: 16 } });
  });
  afterEach(async () => {
    pools?.stop();
    await client.destroy();
    await server.close();
  });

  it('without pings, an idle pool loses its warm sockets (the control)', async () => {
    pools = new PoolMaintenance(client, POOLS, recordingLogger());
    await pools.start([{ origin: server.origin }]);
    expect(client.stats()[0].connected).toBe(4);
    await eventually(() => client.stats()[0].connected === 0 && server.open === 0, 3000);
  });

  it('keeps an idle pool warm: the same sockets stay open across several keep-alive periods', async () => {
    const log = recordingLogger();
    pools = new PoolMaintenance(client, { ...POOLS, healthPingMs: 300 }, log);
    await pools.start([{ origin: server.origin }]);
    await sleep(2500);
    const [s] = client.stats();
    expect(s).toMatchObject({ connected: 4, pingFailures: 0 });
    expect(s.pings).toBeGreaterThanOrEqual(4);
    // Still the 4 warm-up connections: every ping found its socket open and kept it so.
    expect(server.connections).toBe(4);
    expect(server.open).toBe(4);
    expect(server.requests.every(isProbe)).toBe(true);
    expect(log.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('does not ping an origin that carries traffic', async () => {
    pools = new PoolMaintenance(client, { ...POOLS, healthPingMs: 200 }, recordingLogger());
    await pools.start([{ origin: server.origin }]);
    const until = Date.now() + 800;
    while (Date.now() < until) {
      await (await client.request({ url: `${server.origin}/v1/x`, body: '{}' })).body.dump();
      await sleep(50);
    }
    expect(client.stats()[0].pings).toBe(0);
  });

  it('counts failed pings, warns once while the origin is down and once more when it is back', async () => {
    const log = recordingLogger();
    pools = new PoolMaintenance(client, { ...POOLS, healthPingMs: 100, warmupTimeoutMs: 500 }, log);
    await pools.start([{ origin: server.origin }]);
    const { origin } = server;
    const port = Number(new URL(origin).port);
    await server.close();
    await eventually(() => client.stats()[0].pingFailures >= 3, 5000);
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      'upstream pool health ping failed',
    ]);

    server = await startUpstream(undefined, port);
    await eventually(() => log.lines.some((l) => l.msg === 'upstream pool reachable again'), 5000);
    expect(log.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(server.origin).toBe(origin);
  });

  it('stop() clears the timers: no ping after it', async () => {
    pools = new PoolMaintenance(client, { ...POOLS, healthPingMs: 100 }, recordingLogger());
    await pools.start([{ origin: server.origin }]);
    pools.stop();
    const before = server.requests.length;
    await sleep(500);
    expect(server.requests.length).toBe(before);
  });
});
