import type { RedisService } from '../redis/redis.service';
import type { RelayKeys } from './job-relay';

/** Redis keys of the queue layer (besides BullMQ's own, under `<Redis.keyPrefix><JobQueue.prefix>`). */
export function queueKeys(redis: RedisService): RelayKeys & {
  relayChannel: (instanceId: string) => string;
  cancelChannel: string;
  scheduledChannel: string;
} {
  return {
    stream: (jobId) => redis.key('job', 1, `${jobId}:events`),
    waiting: (jobId) => redis.key('job', 1, `${jobId}:waiting`),
    worker: (jobId) => redis.key('job', 1, `${jobId}:worker`),
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
