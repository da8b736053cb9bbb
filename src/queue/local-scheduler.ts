import { PrioritySemaphore } from '../ratelimit/priority-semaphore';
import type { QueueClass } from './queue.types';

export interface ClassSettings {
  priority: number;
  concurrency: number;
}

/**
 * The in-process form of the queues (JobQueue.enabled:false, or Redis down): the same classes, priorities
 * and per-class concurrency, in one process. A class at its concurrency makes its requests wait; when
 * slots free up, waiting requests are served by class priority, then in arrival order.
 */
export class LocalScheduler {
  private readonly classes = new Map<QueueClass, PrioritySemaphore>();

  constructor(private settings: Record<QueueClass, ClassSettings>) {
    for (const [cls, s] of Object.entries(settings) as [QueueClass, ClassSettings][]) {
      this.classes.set(cls, new PrioritySemaphore(s.concurrency));
    }
  }

  /** Resolves with the release function; rejects with a WaitError ('timeout' or 'aborted'). */
  acquire(cls: QueueClass, signal: AbortSignal | undefined, maxWaitMs: number): Promise<() => void> {
    const sem = this.classes.get(cls) as PrioritySemaphore;
    return sem.acquire(this.settings[cls].priority, signal, maxWaitMs);
  }

  depth(): Record<QueueClass, { running: number; waiting: number }> {
    const out = {} as Record<QueueClass, { running: number; waiting: number }>;
    for (const [cls, sem] of this.classes) {
      out[cls] = { running: sem.inUse, waiting: sem.waiting };
    }
    return out;
  }
}
