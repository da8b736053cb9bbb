import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Job } from 'bullmq';
import { PinoLogger } from 'nestjs-pino';
import { ShutdownService } from '../common/shutdown.service';
import { throttled } from '../common/throttled';
import { AppConfigService } from '../config/config.service';
import { QueueService } from './queue.service';
import { ERROR_LOG_EVERY_MS, type QueueClass } from './queue.types';

/** A dead worker's job goes back to its queue after this long (its lock expires); renewed every half. */
const LOCK_MS = 10_000;

/**
 * One BullMQ worker per class, started only on worker roles (`--role worker|all`), with the class'
 * concurrency. On shutdown a worker stops taking jobs and finishes the ones it runs within the grace
 * period; what is still running after it is handed back (its lock lapses and another worker takes it).
 */
@Injectable()
abstract class ClassProcessor
  extends WorkerHost
  implements OnApplicationBootstrap, BeforeApplicationShutdown
{
  protected abstract readonly cls: QueueClass;

  constructor(
    private readonly queue: QueueService,
    private readonly config: AppConfigService,
    private readonly logger: PinoLogger,
    private readonly shutdown: ShutdownService,
  ) {
    super();
  }

  process(job: Job): Promise<unknown> {
    return this.queue.process(job);
  }

  onApplicationBootstrap(): void {
    if (!this.queue.runsWorkers) {
      return;
    }
    const worker = this.worker;
    worker.concurrency = this.config.get('JobQueue').queues[this.cls].concurrency;
    // While Redis is down BullMQ reports every reconnect attempt: one line per period, with the count.
    const warn = throttled(ERROR_LOG_EVERY_MS, (err, suppressed) =>
      this.logger.warn({ err, suppressed, queue: this.cls }, 'queue worker error'),
    );
    worker.on('error', (err) => warn(err.message));
    void worker
      .run()
      .catch((err: Error) =>
        this.logger.error({ err: err.message, queue: this.cls }, 'queue worker stopped'),
      );
  }

  /**
   * Before any module lets go of its resources (upstream pools, Redis connections close in
   * onApplicationShutdown, in an order Nest derives from the module graph): running jobs finish first.
   * - The HTTP drain starts before the wait, so no request arrives meanwhile to be queued for a worker
   *   that no longer takes jobs.
   * - It waits until the process runs no job, up to the grace period; what still runs then is aborted
   *   and handed back (its lock lapses, another worker takes it).
   * - Redis up: BullMQ's graceful `close()` (no new jobs, running ones record their completion).
   *   Redis down: that close would wait for its fetch loop, which never settles while Redis is away —
   *   and Nest's BullMQ explorer awaits the same close later, holding the whole shutdown. So the worker
   *   is paused, and closed with `force` once nothing runs here (nothing could be recorded anyway).
   */
  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.shutdown.begin(signal);
    if (!this.worker.isRunning()) {
      return;
    }
    const grace = this.config.get('Server').shutdownGraceMs;
    // Redis up: the graceful close, which also lets a job just finished record its completion.
    const redisUp = this.queue.redisAvailable;
    const closed = redisUp ? this.worker.close().catch(() => undefined) : undefined;
    if (!redisUp) {
      await this.worker.pause(true).catch(() => undefined);
    }
    const waits: Promise<'idle' | 'late'>[] = [this.queue.whenNoJobsRun(grace)];
    if (closed) {
      waits.push(closed.then(() => 'idle' as const));
    }
    const ran = await Promise.race(waits);
    if (ran === 'late') {
      this.logger.warn({ queue: this.cls }, 'queue worker: grace period over; handing running jobs back');
      // Stop the work itself (upstream calls included): a handed-back job must not also finish here.
      this.queue.abortRunningJobs();
    }
    const last = closed ?? this.worker.close(true).catch(() => undefined);
    await Promise.race([last, delay(FORCE_CLOSE_MS)]);
  }
}

/** The longest a worker's final close may still take once nothing it runs needs it. */
const FORCE_CLOSE_MS = 1000;

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

const workerOptions = {
  autorun: false,
  lockDuration: LOCK_MS,
  stalledInterval: LOCK_MS / 2,
  maxStalledCount: 1,
};

@Processor('interactive', workerOptions)
export class InteractiveProcessor extends ClassProcessor {
  protected readonly cls = 'interactive';
}

@Processor('batch', workerOptions)
export class BatchProcessor extends ClassProcessor {
  protected readonly cls = 'batch';
}

@Processor('background', workerOptions)
export class BackgroundProcessor extends ClassProcessor {
  protected readonly cls = 'background';
}
