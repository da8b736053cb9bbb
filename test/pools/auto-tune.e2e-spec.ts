import type { ServerResponse } from 'node:http';
import { ElasticPool, type PoolTuneEvent } from '../../src/providers/pool-elastic';
import { PoolMaintenance } from '../../src/providers/pool-maintenance';
import { UpstreamClient } from '../../src/providers/upstream.client';
import { eventually } from '../support/gateway';
import { ok, POOLS, recordingLogger, slow, startUpstream, type UpstreamServer } from './upstream-server';

async function call(client: UpstreamClient, origin: string, path = '/v1/x'): Promise<string> {
  const res = await client.request({ url: `${origin}${path}`, body: '{}' });
  return res.body.text();
}

describe('pool auto-tuning', () => {
  let server: UpstreamServer;
  let client: UpstreamClient;
  let events: PoolTuneEvent[];
  afterEach(async () => {
    await client.destroy();
    await server.close();
  });
  const newClient = (min: number, max: number) => {
    events = [];
    client = new UpstreamClient({ autoTune: { min, max }, onTune: (e) => events.push(e) });
  };

  it('grows the connection limit under a burst of slow requests, without queueing below the max', async () => {
    server = await startUpstream(slow(300));
    newClient(2, 16);
    const burst = Array.from({ length: 12 }, () => call(client, server.origin));
    await eventually(() => server.inFlight === 12, 2000);
    const during = client.stats()[0];
    expect(during).toMatchObject({ limit: 16, running: 12, queued: 0, size: 12, tuneEvents: 3 });
    expect(events.map((e) => `${e.direction} ${e.from}→${e.to}`)).toEqual([
      'grow 2→4',
      'grow 4→8',
      'grow 8→16',
    ]);
    expect(await Promise.all(burst)).toEqual(Array(12).fill('{"ok":true}'));
    expect(server.connections).toBe(12);
  });

  it('queues at maxConnections and never goes past it', async () => {
    server = await startUpstream(slow(200));
    newClient(2, 4);
    const burst = Array.from({ length: 10 }, () => call(client, server.origin));
    await eventually(() => server.inFlight === 4, 2000);
    expect(client.stats()[0]).toMatchObject({ limit: 4, running: 4, pending: 6, size: 10 });
    await Promise.all(burst);
    expect(server.connections).toBe(4);
  });

  it('shrinks one step per idle tune interval back to minConnections, closing the extra sockets', async () => {
    server = await startUpstream(slow(100));
    newClient(2, 16);
    await Promise.all(Array.from({ length: 12 }, () => call(client, server.origin)));
    expect(client.stats()[0]).toMatchObject({ limit: 16, connected: 12 });

    const pools = new PoolMaintenance(
      client,
      { ...POOLS, warmup: false, autoTune: true, tuneIntervalMs: 100 },
      recordingLogger(),
    );
    await pools.start([]);
    try {
      await eventually(() => client.stats()[0].limit === 2, 3000);
      expect(events.filter((e) => e.direction === 'shrink').map((e) => `${e.from}→${e.to}`)).toEqual([
        '16→8',
        '8→4',
        '4→2',
      ]);
      await eventually(() => client.stats()[0].connected === 2 && server.open === 2, 2000);
      expect(client.stats()[0].tuneEvents).toBe(6);
      // The warm base pool still serves without a new handshake.
      await call(client, server.origin);
      expect(server.connections).toBe(12);
    } finally {
      pools.stop();
    }
  });

  it('keeps a pool that is still used from shrinking', async () => {
    server = await startUpstream(slow(150));
    newClient(1, 4);
    const steady = async (until: number) => {
      while (Date.now() < until) {
        await Promise.all([call(client, server.origin), call(client, server.origin)]);
      }
    };
    const until = Date.now() + 700;
    const load = steady(until);
    await eventually(() => client.stats()[0].limit === 2, 1000);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 150));
      client.tune();
    }
    expect(client.stats()[0].limit).toBe(2);
    await load;
  });

  it('lets in-flight streams finish when their pool is retired', async () => {
    const releases: Array<() => void> = [];
    server = await startUpstream((req, res: ServerResponse) => {
      if (req.url !== '/stream') {
        return ok(req, res);
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
      releases.push(() => {
        res.write('data: 2\n\n');
        res.end('data: 3\n\n');
      });
    });
    newClient(1, 4);
    const a = await client.request({ url: `${server.origin}/stream`, body: '{}' });
    const b = await client.request({ url: `${server.origin}/stream`, body: '{}' });
    const pool = client.dispatcherFor(server.origin) as ElasticPool;
    expect(pool).toBeInstanceOf(ElasticPool);
    expect(client.stats()[0]).toMatchObject({ limit: 2, running: 2 });

    // b runs on the second pool; retire it mid-stream.
    expect(pool.shrink()).toMatchObject({ direction: 'shrink', from: 2, to: 1 });
    expect(client.stats()[0]).toMatchObject({ limit: 1, running: 2, connected: 2 });
    const texts = Promise.all([a.body.text(), b.body.text()]);
    releases.forEach((r) => r());
    expect(await texts).toEqual(['data: 1\n\ndata: 2\n\ndata: 3\n\n', 'data: 1\n\ndata: 2\n\ndata: 3\n\n']);
    // Drained, the retired pool closed its socket; the base pool is still there.
    await eventually(() => client.stats()[0].connected === 1 && server.open === 1, 2000);
    expect(await call(client, server.origin)).toBe('{"ok":true}');
  });

  it('leaves the origin alone when autoTune is off (fixed connections, plain Pool)', async () => {
    server = await startUpstream(slow(100));
    client = new UpstreamClient({ connections: 3 });
    await Promise.all(Array.from({ length: 6 }, () => call(client, server.origin)));
    expect(client.dispatcherFor(server.origin)).not.toBeInstanceOf(ElasticPool);
    expect(client.stats()[0]).toMatchObject({ limit: 3, tuneEvents: 0 });
    expect(client.tune()).toEqual([]);
    expect(server.connections).toBe(3);
  });
});
