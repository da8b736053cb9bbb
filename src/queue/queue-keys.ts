import type Redis from 'ioredis';
import type { RedisService } from '../redis/redis.service';
import type { RelayKeys } from './job-relay';

/** Redis keys of the queue layer (besides BullMQ's own, under `<Redis.keyPrefix><JobQueue.prefix>`). */
export function queueKeys(redis: RedisService): RelayKeys & {
  claim: (jobId: string) => string;
  relayChannel: (instanceId: string) => string;
  cancelChannel: string;
  scheduledChannel: string;
} {
  return {
    stream: (jobId) => redis.key('job', 1, `${jobId}:events`),
    waiting: (jobId) => redis.key('job', 1, `${jobId}:waiting`),
    worker: (jobId) => redis.key('job', 1, `${jobId}:worker`),
    claim: (jobId) => redis.key('job', 1, `${jobId}:claim`),
    relayChannel: (instanceId) => redis.key('relay', 1, instanceId),
    cancelChannel: redis.key('jobcancel', 1, 'all'),
    scheduledChannel: redis.key('scheduled', 1, 'all'),
  };
}

/** BullMQ job data of a relayed request (the `request` job name). */
export interface RequestJobData<J> {
  job: J;
  /** The API instance whose relay channel hears about new entries. */
  replyTo: string;
  enqueuedAt: number;
}

/** How long a job's claim stays (longer than any job can wait in its queue before a worker takes it). */
export const CLAIM_TTL_MS = 60 * 60_000;

/**
 * Who runs a relayed request, decided once: its worker when it starts it, or its requester when the
 * enqueue seemed to fail and it would run the request itself. The first SET NX wins; the loser stands
 * back (the worker skips the job, the requester follows the worker's answer), so an enqueue whose reply
 * came late never costs two upstream calls.
 */
export async function claimJob(client: Redis, key: string, who: string): Promise<boolean> {
  return (await client.set(key, who, 'PX', CLAIM_TTL_MS, 'NX')) === 'OK';
}
