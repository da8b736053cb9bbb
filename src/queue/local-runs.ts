import type { PinoLogger } from 'nestjs-pino';
import { passThrough } from '../common/event-iterators';
import type { SwitchyardConfig } from '../config/config.schema';
import type { FailoverResult } from '../failover/failover.service';
import type { UpstreamCallService, UpstreamJob } from '../failover/upstream-call.service';
import { GatewayError } from '../protocol/errors';
import { WaitError } from '../ratelimit/priority-semaphore';
import type { LocalScheduler } from './local-scheduler';
import type { JobHandler, QueueClass } from './queue.types';

type ClassConfig = SwitchyardConfig['JobQueue']['queues'][QueueClass];

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * One request's upstream work in this process (JobQueue off, or Redis down): it waits for a slot of its
 * class in the in-process scheduler — up to the class' `maxWaitMs`, then 503 with `retry-after` — and holds
 * it until its answer's events are finished, abandoned or failed.
 */
export async function runLocalRequest(
  d: { local: LocalScheduler; upstream: UpstreamCallService; settings: ClassConfig },
  job: UpstreamJob,
  cls: QueueClass,
  signal: AbortSignal,
  onWaited?: (ms: number) => void,
): Promise<FailoverResult> {
  const s = d.settings;
  const queuedAt = performance.now();
  let release: () => void;
  try {
    release = await d.local.acquire(cls, signal, s.maxWaitMs);
    onWaited?.(performance.now() - queuedAt);
  } catch (why) {
    onWaited?.(performance.now() - queuedAt);
    if (why instanceof WaitError && why.why === 'aborted') {
      throw new GatewayError(499, 'request aborted by the client', { type: 'api_error' });
    }
    throw new GatewayError(
      503,
      `the ${cls} class is at its concurrency (${s.concurrency}) for ${s.maxWaitMs} ms`,
      {
        type: 'overloaded_error',
        headers: { 'retry-after': String(Math.max(1, Math.ceil(s.maxWaitMs / 10_000))) },
      },
    );
  }
  try {
    const result = await d.upstream.call(job, signal);
    return { ...result, events: passThrough(result.events, { onRelease: release }) };
  } catch (err) {
    release();
    throw err;
  }
}

interface LocalJob {
  cancelled: boolean;
  started: boolean;
}

/**
 * Durable jobs (batch requests, maintenance) when BullMQ cannot take them: run in this process in their
 * class' slots, with the class' attempts and exponential backoff, until they succeed, fail for good or
 * the process shuts down.
 */
export class LocalJobRunner {
  private readonly jobs = new Map<string, LocalJob>();

  constructor(
    private readonly d: {
      local: LocalScheduler;
      handler: (name: string) => JobHandler<unknown> | undefined;
      settings: (cls: QueueClass) => ClassConfig;
      shutdown: AbortSignal;
      logger: PinoLogger;
    },
  ) {}

  add(cls: QueueClass, name: string, jobId: string, data: unknown): void {
    const entry: LocalJob = { cancelled: false, started: false };
    this.jobs.set(jobId, entry);
    void this.run(cls, name, jobId, data, entry).finally(() => this.jobs.delete(jobId));
  }

  /** undefined: not a job of this runner; else whether it was removed (it had not started). */
  remove(jobId: string): boolean | undefined {
    const entry = this.jobs.get(jobId);
    if (!entry) {
      return undefined;
    }
    if (entry.started) {
      return false;
    }
    entry.cancelled = true;
    return true;
  }

  private async run(
    cls: QueueClass,
    name: string,
    jobId: string,
    data: unknown,
    entry: LocalJob,
  ): Promise<void> {
    const { local, shutdown, logger } = this.d;
    const handler = this.d.handler(name);
    if (!handler) {
      logger.error({ name }, 'queue: no handler registered for a local job');
      return;
    }
    const s = this.d.settings(cls);
    for (let attempt = 1; !shutdown.aborted; attempt += 1) {
      let release: () => void;
      try {
        release = await local.acquire(cls, shutdown, Number.POSITIVE_INFINITY);
      } catch {
        return;
      }
      if (entry.cancelled) {
        release();
        return;
      }
      entry.started = true;
      try {
        await handler(data, { jobId, attempt, finalAttempt: attempt >= s.attempts, signal: shutdown });
        return;
      } catch (err) {
        const fields = { err: (err as Error).message, name, jobId, attempt };
        if (attempt >= s.attempts) {
          logger.error(fields, 'queue: job failed for good');
          return;
        }
        logger.warn(fields, 'queue: job failed; retrying');
      } finally {
        release();
      }
      await sleep(s.backoffMs * 2 ** (attempt - 1), shutdown);
    }
  }
}
