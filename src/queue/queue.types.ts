/** The three priority classes (JobQueue.queues). */
export const QUEUE_CLASSES = ['interactive', 'batch', 'background'] as const;
export type QueueClass = (typeof QUEUE_CLASSES)[number];

/** Header a client uses to ask for a lower class (`background` or `batch`). */
export const PRIORITY_HEADER = 'x-switchyard-priority';

export interface JobContext {
  jobId: string;
  /** 1 on the first run; BullMQ retries (JobQueue.queues.<class>.attempts) count up. */
  attempt: number;
  /** True when a failure now is final (no attempts left): record the error instead of throwing. */
  finalAttempt: boolean;
  /** Aborted when the job is cancelled or its worker shuts down (the job is then handed back). */
  signal: AbortSignal;
}

/** Runs one durable job; throwing retries it with exponential backoff while attempts remain. */
export type JobHandler<T> = (data: T, ctx: JobContext) => Promise<void>;

/** A Redis outage's errors are logged at most this often per queue and worker (with the count of the others). */
export const ERROR_LOG_EVERY_MS = 10_000;
