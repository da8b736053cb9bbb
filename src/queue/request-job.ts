import type { Job } from 'bullmq';
import type Redis from 'ioredis';
import { serializeError } from '../dedup/dedup-errors';
import { attemptsOf } from '../failover/failover.types';
import type { UpstreamCallService, UpstreamJob } from '../failover/upstream-call.service';
import { withRequestLogContext } from '../logging/request-log-context';
import { GatewayError } from '../protocol/errors';
import type { RedisService } from '../redis/redis.service';
import type { RelayOutbox } from './job-publisher';
import { CLAIM_TTL_MS, type queueKeys, type RequestJobData } from './queue-keys';

/** How long a stream of a finished job stays readable (a slow client is still reading it). */
const STREAM_TTL_MS = 10 * 60_000;

export interface RequestJobDeps {
  redis: RedisService;
  keys: ReturnType<typeof queueKeys>;
  /** This worker's instance id (written in the worker liveness key and the start marker). */
  workerId: string;
  upstream: UpstreamCallService;
  /** Writes the answers of every job this process runs (job-publisher.ts). */
  outbox: RelayOutbox;
  /** Running jobs by id: the cancel channel aborts them here. */
  running: Map<string, AbortController>;
  workerLostMs: number;
  workerHeartbeatMs: number;
}

/**
 * The worker side of a relayed request (a `request` job): checks that its requester still waits, runs the
 * upstream work through failover exactly as the direct path does, and writes the answer to the job's
 * stream, beating a liveness key meanwhile. The client whatever the watchdog says is used throughout: a
 * slow ping on a busy loop must not cost an answer (its commands still fail fast when Redis is really gone).
 */
export function runRequestJob(d: RequestJobDeps, job: Job<RequestJobData<UpstreamJob>>): Promise<unknown> {
  // Its log lines (the upstream call, failover) name the request, whichever process runs it.
  return withRequestLogContext(job.data.job?.requestId, () => runJob(d, job));
}

async function runJob(d: RequestJobDeps, job: Job<RequestJobData<UpstreamJob>>): Promise<unknown> {
  if (!d.redis.client) {
    throw new Error('Redis is unavailable: the job is handed back');
  }
  const id = String(job.id);
  const publisher = d.outbox.publisher(
    d.keys.stream(id),
    d.keys.relayChannel(job.data.replyTo),
    id,
    STREAM_TTL_MS,
  );
  // One round trip says whether the requester still waits (it keeps that key alive) and marks this worker
  // alive; the first one also claims the job (unless its requester took it back, see claimJob). Rejects
  // when Redis does not answer.
  const pulse = async (claim: boolean): Promise<{ claimed: boolean; waiting: boolean }> => {
    const c = d.redis.client as Redis | undefined;
    if (!c) {
      throw new Error('Redis is unavailable');
    }
    const pipeline = c.pipeline();
    if (claim) {
      pipeline.set(d.keys.claim(id), d.workerId, 'PX', CLAIM_TTL_MS, 'NX');
    }
    pipeline.exists(d.keys.waiting(id)).set(d.keys.worker(id), d.workerId, 'PX', d.workerLostMs);
    const replies = ((await pipeline.exec()) ?? []) as [Error | null, unknown][];
    const [claimReply, waitingReply] = claim ? replies : [[null, 'OK'], ...replies];
    return { claimed: claimReply[1] === 'OK', waiting: waitingReply[1] !== 0 };
  };
  const client = d.redis.client as Redis;
  let claimed: boolean;
  let waiting: boolean;
  try {
    ({ claimed, waiting } = await pulse(true));
  } catch {
    throw new Error('Redis is unavailable: the job is handed back');
  }
  if (!claimed || !waiting) {
    void client.del(d.keys.worker(id)).catch(() => undefined);
  }
  if (!claimed) {
    return { skipped: 'the requester runs it itself' };
  }
  if (!waiting) {
    // Usually the requester left; if it is in fact still waiting (its key lapsed), it gets a clean error
    // now instead of waiting out its maximum queue wait.
    await publisher.end({
      kind: 'failed',
      error: serializeError(
        new GatewayError(503, 'the queued request was given up before a worker took it', {
          type: 'overloaded_error',
          headers: { 'retry-after': '1' },
        }),
      ),
    });
    return { skipped: 'the requester is gone' };
  }
  const ac = new AbortController();
  d.running.set(id, ac);
  const heartbeat = setInterval(() => {
    pulse(false).then(
      (beat) => {
        if (!beat.waiting) {
          ac.abort(new Error('the requester is gone'));
        }
      },
      () => undefined, // a missed beat: the requester gives up only after workerLostMs
    );
  }, d.workerHeartbeatMs);
  publisher.start({ worker: d.workerId });
  try {
    const result = await d.upstream.call(job.data.job, ac.signal);
    publisher.head({ target: result.target, attempts: result.attempts }, result.head);
    try {
      for (;;) {
        const next = await result.events.next();
        if (next.done) {
          break;
        }
        publisher.push(next.value);
      }
    } finally {
      await result.events.return?.(undefined);
    }
    await publisher.end({ kind: 'done' });
    return { target: result.target };
  } catch (err) {
    await publisher.end({ kind: 'failed', error: serializeError(err), attempts: attemptsOf(err) });
    return { failed: (err as Error).message };
  } finally {
    clearInterval(heartbeat);
    d.running.delete(id);
    void (d.redis.client as Redis | undefined)?.del(d.keys.worker(id)).catch(() => undefined);
  }
}
