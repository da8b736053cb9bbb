import Redis from 'ioredis';
import { JobRelay } from '../../src/queue/job-relay';
import type { StreamEvent } from '../../src/protocol/types';
import { startRedisServer, type ThrowawayRedis } from '../support/redis-server';

/**
 * The API side of a queued request whose Redis goes away mid-answer: the worker can no longer relay
 * anything, so the client's stream must end with a terminal error rather than live on pings for as long
 * as the outage lasts (a throwaway redis-server, stopped mid-answer).
 */
describe('JobRelay while Redis is down (throwaway redis-server)', () => {
  let server: ThrowawayRedis;
  let hot: Redis;
  let sub: Redis;
  let relay: JobRelay | undefined;

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterEach(() => relay?.stop());
  afterAll(async () => {
    hot?.disconnect();
    sub?.disconnect();
    await server.stop().catch(() => undefined);
  });

  it('ends a started answer that Redis can no longer carry with a terminal overloaded_error', async () => {
    const options = {
      host: '127.0.0.1',
      port: server.port,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    };
    hot = new Redis(options);
    sub = new Redis({ ...options, enableOfflineQueue: true });
    await Promise.all([new Promise((r) => hot.once('ready', r)), new Promise((r) => sub.once('ready', r))]);
    relay = new JobRelay(
      () => hot,
      sub,
      'relay',
      { stream: (id) => `s:${id}`, waiting: (id) => `w:${id}`, worker: (id) => `k:${id}` },
      { aliveMs: 600, workerLostMs: 600 },
    );
    const handle = relay.open('job-1');
    handle.apply({
      id: '0-1',
      start: { worker: 'w1' },
      head: { target: 'fake,m', attempts: [] },
      events: [{ type: 'message_start', message: { id: 'msg_1', model: 'm' } } as unknown as StreamEvent],
    });
    const events: StreamEvent[] = [];
    const reading = (async () => {
      for await (const ev of handle.stream()) {
        events.push(ev);
      }
    })();
    await server.stop();
    await reading; // before the fix: never, for as long as Redis stays down
    expect(events[0]).toMatchObject({ type: 'message_start' });
    expect(events.at(-1)).toMatchObject({
      type: 'error',
      error: { type: 'overloaded_error', message: expect.stringContaining('Redis is unavailable') },
    });
  });
});
