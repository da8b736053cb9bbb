import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Job } from 'bullmq';
import { PinoLogger } from 'nestjs-pino';
import { AppConfigService } from '../config/config.service';
import { QueueService } from './queue.service';
import type { QueueClass } from './queue.types';

/** A dead worker's job goes back to its queue after this long (its lock expires); renewed every half. */
const LOCK_MS = 10_000;

/**
 * One BullMQ worker per class, started only on worker roles (`--role worker|all`), with the class'
 * concurrency. On shutdown a worker stops taking jobs and finishes the ones it runs within the grace
 * period; what is still running after it is handed back (its lock lapses and another worker takes it).
 */
@Injectable()
abstract class ClassProcessor extends WorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  protected abstract readonly cls: QueueClass;

  constructor(
    private readonly queue: QueueService,
    private readonly config: AppConfigService,
    private readonly logger: PinoLogger,
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
    worker.on('error', (err) =>
      this.logger.warn({ err: err.message, queue: this.cls }, 'queue worker error'),
    );
    void worker
      .run()
      .catch((err: Error) =>
        this.logger.error({ err: err.message, queue: this.cls }, 'queue worker stopped'),
      );
  }

  /**
   * Before any module lets go of its resources (upstream pools, Redis connections close in
   * onApplicationShutdown, in an order Nest derives from the module graph): running jobs finish first.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.worker.isRunning()) {
      return;
    }
    const grace = this.config.get('Server').shutdownGraceMs;
    const closed = this.worker.close();
    const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), grace).unref());
    if ((await Promise.race([closed, timer])) === 'late') {
      this.logger.warn({ queue: this.cls }, 'queue worker: grace period over; handing running jobs back');
      // Stop the work itself (upstream calls included): a handed-back job must not also finish here.
      this.queue.abortRunningJobs();
      await this.worker.close(true).catch(() => undefined);
    }
  }
}

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
