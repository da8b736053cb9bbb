import type { QueueService } from '../queue/queue.service';
import { QueueBacklog } from './queue-backlog';

function queue(mode: 'local' | 'bullmq', local: number, waiting: number) {
  const calls = { depth: 0 };
  const q = {
    mode,
    localWaiting: () => local,
    depth: () => {
      calls.depth += 1;
      return Promise.resolve({ interactive: { waiting, prioritized: 1 } });
    },
  } as unknown as QueueService;
  return { q, calls };
}

describe('QueueBacklog', () => {
  it('local mode: the in-process scheduler only, no counting', () => {
    const { q, calls } = queue('local', 2, 50);
    expect(new QueueBacklog(q).interactive()).toBe(2);
    expect(calls.depth).toBe(0);
  });

  it('BullMQ mode: adds the cluster count once it is in, counted at most once a second', async () => {
    const { q, calls } = queue('bullmq', 1, 3);
    const backlog = new QueueBacklog(q);
    expect(backlog.interactive()).toBe(1); // never waits for Redis
    await new Promise((r) => setImmediate(r));
    expect(backlog.interactive()).toBe(1 + 3 + 1);
    expect(backlog.interactive()).toBe(5);
    expect(calls.depth).toBe(1);
  });
});
