import { ConnectProxy } from '../../src/providers/testing/loopback-server';
import { PoolMaintenance } from '../../src/providers/pool-maintenance';
import { UpstreamClient } from '../../src/providers/upstream.client';
import { eventually } from '../support/gateway';
import { POOLS, recordingLogger, slow, startUpstream } from './upstream-server';

describe('warm-up and auto-tuning behind PROXY_URL', () => {
  it('warms tunnels through the proxy and grows the tunnelled pool under a burst', async () => {
    const proxy = await ConnectProxy.start();
    // Each answer takes 2 s: on a loaded CI box the six tunnels may open far apart, and all six must be in flight at once.
    const server = await startUpstream(slow(2000));
    const client = new UpstreamClient({ proxyUrl: proxy.url, autoTune: { min: 2, max: 8 } });
    try {
      const pools = new PoolMaintenance(client, { ...POOLS, warmConnections: 2 }, recordingLogger());
      const [warm] = await pools.start([{ origin: server.origin }]);
      pools.stop();
      expect(warm).toMatchObject({ opened: 2, failed: 0 });
      expect(proxy.tunnels).toBe(2);
      await eventually(() => client.stats()[0]?.free === 2);

      const burst = Array.from({ length: 6 }, async () => {
        const res = await client.request({ url: `${server.origin}/v1/x`, body: '{}' });
        return res.body.text();
      });
      await eventually(() => server.inFlight === 6, 5000);
      expect(client.stats()[0]).toMatchObject({ origin: server.origin, limit: 8, running: 6, tuneEvents: 2 });
      expect(await Promise.all(burst)).toEqual(Array(6).fill('{"ok":true}'));
      expect(proxy.tunnels).toBe(6);
    } finally {
      await client.destroy();
      await Promise.all([server.close(), proxy.close()]);
    }
  });
});
