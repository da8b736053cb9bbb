import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool, request } from 'undici';
import { poolSize } from './pool-elastic';

describe('poolSize', () => {
  let server: Server;
  let release: () => void = () => undefined;
  let origin: string;

  beforeAll(async () => {
    const held = new Promise<void>((r) => (release = r));
    server = createServer((_req, res) => {
      void held.then(() => res.end('ok'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    release();
    await new Promise((r) => server.close(r));
  });

  it('is the queued + running count undici reports in stats.size', async () => {
    const pool = new Pool(origin, { connections: 2 });
    expect(poolSize(pool)).toBe(0);
    const pending = [1, 2, 3].map(() => request(`${origin}/`, { dispatcher: pool }).then((r) => r.body.text()));
    await new Promise((r) => setTimeout(r, 50));
    expect(poolSize(pool)).toBe(3); // 2 running, 1 queued behind them
    expect(poolSize(pool)).toBe(pool.stats.size);
    release();
    await Promise.all(pending);
    expect(poolSize(pool)).toBe(0);
    await pool.close();
  });
});
