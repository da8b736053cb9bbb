import type { QueueService } from '../queue/queue.service';

/** How stale the cluster-wide count may be (one BullMQ count per second at most). */
const COUNT_EVERY_MS = 1000;

/**
 * Interactive requests waiting for their turn: this process's scheduler, read now, plus (BullMQ mode) the
 * queue's waiting jobs across the cluster, counted in the background at most once a second, so the check
 * on the request path never waits for Redis.
 */
export class QueueBacklog {
  private counted = 0;
  private countedAt = 0;
  private counting = false;

  constructor(private readonly queue: QueueService) {}

  interactive(): number {
    const local = this.queue.localWaiting('interactive');
    if (this.queue.mode !== 'bullmq') {
      return local;
    }
    if (!this.counting && Date.now() - this.countedAt >= COUNT_EVERY_MS) {
      this.counting = true;
      this.queue
        .depth()
        .then((d) => {
          this.counted = (d.interactive.waiting ?? 0) + (d.interactive.prioritized ?? 0);
        })
        .catch(() => undefined)
        .finally(() => {
          this.countedAt = Date.now();
          this.counting = false;
        });
    }
    return local + this.counted;
  }
}
