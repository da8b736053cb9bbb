import type { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { PinoLogger } from 'nestjs-pino';
import { passThrough } from '../common/event-iterators';
import { withTimeout } from '../common/with-timeout';
import type { FailoverResult } from '../failover/failover.service';
import type { UpstreamJob } from '../failover/upstream-call.service';
import { GatewayError } from '../protocol/errors';
import type { RedisService } from '../redis/redis.service';
import type { JobRelay, RelayHandle } from './job-relay';
import { claimJob, type queueKeys, type RequestJobData } from './queue-keys';
import type { QueueClass } from './queue.types';

/** Job name of a relayed client request (everything else is a registered durable handler). */
export const REQUEST_JOB = 'request';

export interface QueuedRequestDeps {
  redis: RedisService;
  keys: ReturnType<typeof queueKeys>;
  relay: JobRelay;
  /** The class' BullMQ queue. */
  queue: Queue;
  /** This API instance (the relay channel workers answer on). */
  instanceId: string;
  cls: QueueClass;
  maxWaitMs: number;
  workerLostMs: number;
  /** BullMQ uses the hot path's Redis server: the requester key can go ahead of the add on its socket. */
  sameServer: boolean;
  retention: {
    removeOnComplete: { count: number; age: number };
    removeOnFail: { count: number; age: number };
  };
  logger: PinoLogger;
}

/**
 * The API side of a relayed request: enqueues its upstream work as a BullMQ job and follows the worker's
 * answer through the relay (the worker side is request-job.ts). Resolves undefined when the queue could
 * not take the job (Redis trouble, the job taken back): the caller then runs it in-process.
 */
export async function runQueuedRequest(
  d: QueuedRequestDeps,
  job: UpstreamJob,
  signal: AbortSignal,
  onWaited?: (ms: number) => void,
): Promise<FailoverResult | undefined> {
  const client = d.redis.available;
  if (!client) {
    return undefined;
  }
  const jobId = randomUUID();
  const handle = d.relay.open(jobId);
  if (!(await enqueue(d, client, jobId, job, handle))) {
    return undefined;
  }
  return follow(d, jobId, handle, signal, onWaited);
}

/** false when the job is not (or no longer) the queue's: the requester runs it itself. */
async function enqueue(
  d: QueuedRequestDeps,
  client: Redis,
  jobId: string,
  job: UpstreamJob,
  handle: RelayHandle,
): Promise<boolean> {
  try {
    // The requester key must be on Redis before a worker can see the job. On BullMQ's own connection the
    // SET goes ahead of the add on one socket, in order, without a round trip of its own.
    const keyed = (d.sameServer ? ((await d.queue.backend.client) as unknown as Redis) : client).set(
      d.keys.waiting(jobId),
      '1',
      'PX',
      d.workerLostMs,
    );
    if (!d.sameServer) {
      await withTimeout(keyed, d.redis.commandTimeoutMs, 'queue requester key');
    }
    const data: RequestJobData<UpstreamJob> = { job, replyTo: d.instanceId, enqueuedAt: Date.now() };
    await withTimeout(
      Promise.all([
        keyed,
        d.queue.add(REQUEST_JOB, data, {
          jobId,
          // A relayed request is retried by failover, not by BullMQ (it may already have streamed).
          attempts: 1,
          ...d.retention,
        }),
      ]),
      Math.max(1000, d.redis.commandTimeoutMs * 4),
      'queue add',
    );
    return true;
  } catch (err) {
    // The add may still land, and a worker may even have started it: take the job back, or follow it.
    if (await takeBack(d, jobId)) {
      d.relay.close(handle); // deletes the requester key too
      d.logger.warn({ err: (err as Error).message }, 'queue: enqueue failed; running the request in-process');
      return false;
    }
    d.logger.warn(
      { err: (err as Error).message },
      'queue: the enqueue answered late but a worker had already started the request; relaying its answer',
    );
    return true;
  }
}

/** Claims a job whose enqueue seemed to fail, so its worker skips it; false when a worker claimed it first. */
async function takeBack(d: QueuedRequestDeps, jobId: string): Promise<boolean> {
  const client = d.redis.client as Redis | undefined;
  if (!client) {
    return true;
  }
  try {
    return await withTimeout(
      claimJob(client, d.keys.claim(jobId), `requester:${d.instanceId}`),
      d.redis.commandTimeoutMs,
      'queue claim',
    );
  } catch {
    return true; // Redis is really away: no worker can claim it either
  }
}

/** Waits for a worker to start the job (at most the class' maximum wait), then relays its answer. */
async function follow(
  d: QueuedRequestDeps,
  jobId: string,
  handle: RelayHandle,
  signal: AbortSignal,
  onWaited?: (ms: number) => void,
): Promise<FailoverResult> {
  const cancel = (): void => {
    if (handle.started) {
      void d.redis.available?.publish(d.keys.cancelChannel, jobId).catch(() => undefined);
    } else {
      void d.queue.remove(jobId).catch(() => 0);
    }
    handle.fail(new GatewayError(499, 'request aborted by the client', { type: 'api_error' }));
    d.relay.close(handle);
  };
  signal.addEventListener('abort', cancel, { once: true });
  const waitTimer = setTimeout(() => {
    if (!handle.started) {
      void d.queue.remove(jobId).catch(() => 0);
      const seconds = Math.max(1, Math.ceil(d.maxWaitMs / 10_000));
      handle.fail(
        new GatewayError(503, `the ${d.cls} queue did not start this request within ${d.maxWaitMs} ms`, {
          type: 'overloaded_error',
          headers: { 'retry-after': String(seconds) },
        }),
      );
      d.relay.close(handle);
    }
  }, d.maxWaitMs);
  waitTimer.unref();
  try {
    const head = await handle.head();
    clearTimeout(waitTimer);
    onWaited?.((handle.startedAt ?? Date.now()) - handle.createdAt);
    return {
      target: head.target,
      attempts: head.attempts,
      head: [],
      events: passThrough(handle.stream(), {
        onRelease: () => {
          signal.removeEventListener('abort', cancel);
          if (!handle.done) {
            cancel(); // the client left mid-answer: stop the worker's upstream call too
          }
        },
      }),
    };
  } catch (err) {
    clearTimeout(waitTimer);
    onWaited?.((handle.startedAt ?? Date.now()) - handle.createdAt);
    signal.removeEventListener('abort', cancel);
    d.relay.close(handle);
    throw err;
  }
}
