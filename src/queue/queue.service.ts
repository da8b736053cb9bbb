import {
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getQueueToken } from '@nestjs/bullmq';
import type { Job, Queue } from 'bullmq';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { PinoLogger } from 'nestjs-pino';
import { throttled } from '../common/throttled';
import { withTimeout } from '../common/with-timeout';
import { AppConfigService } from '../config/config.service';
import type { FailoverResult } from '../failover/failover.service';
import { UpstreamCallService, type UpstreamJob } from '../failover/upstream-call.service';
import { DegradedModeService } from '../redis/degraded-mode.service';
import { InstanceRegistryService } from '../redis/instance-registry.service';
import { RedisService, type RedisClient } from '../redis/redis.service';
import { RelayOutbox } from './job-publisher';
import { JobRelay } from './job-relay';
import { LocalJobRunner, runLocalRequest } from './local-runs';
import { LocalScheduler } from './local-scheduler';
import { queueKeys, type RequestJobData } from './queue-keys';
import { REQUEST_JOB, runQueuedRequest } from './queued-request';
import { runRequestJob } from './request-job';
import { ERROR_LOG_EVERY_MS, QUEUE_CLASSES, type JobHandler, type QueueClass } from './queue.types';

export type QueueMode = 'bullmq' | 'local';

/** Jobs per BullMQ `addBulk` call. */
const ADD_BULK_CHUNK = 500;

/**
 * Priority classes for upstream work (docs/scaling.md). With JobQueue on and Redis up, a request's
 * upstream call is a BullMQ job on its class' queue, run by a worker process (this one or another) through
 * the same failover path, its canonical events relayed back through a Redis Stream so queued requests
 * still stream. Otherwise — JobQueue off, or Redis down — an in-process scheduler with the same classes,
 * priorities and concurrency runs it here, and switches back by itself. Durable jobs (batch requests,
 * scheduled maintenance) use the same queues with attempts and exponential backoff.
 */
@Injectable()
export class QueueService implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly queues = new Map<QueueClass, Queue>();
  private readonly handlers = new Map<string, JobHandler<unknown>>();
  private readonly broadcastListeners = new Map<string, ((payload: unknown) => void)[]>();
  private readonly running = new Map<string, AbortController>();
  private readonly local: LocalScheduler;
  private readonly localJobs: LocalJobRunner;
  private readonly keys: ReturnType<typeof queueKeys>;
  private readonly shutdown = new AbortController();
  private relay?: JobRelay;
  private subscriber?: RedisClient;
  private outbox?: RelayOutbox;

  constructor(
    private readonly config: AppConfigService,
    private readonly redis: RedisService,
    private readonly modes: DegradedModeService,
    private readonly instances: InstanceRegistryService,
    private readonly upstream: UpstreamCallService,
    private readonly moduleRef: ModuleRef,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('queue');
    this.local = new LocalScheduler(this.config.get('JobQueue').queues);
    this.keys = queueKeys(redis);
    setMaxListeners(0, this.shutdown.signal); // one listener per running job
    this.localJobs = new LocalJobRunner({
      local: this.local,
      handler: (name) => this.handlers.get(name),
      settings: (cls) => this.config.get('JobQueue').queues[cls],
      shutdown: this.shutdown.signal,
      logger: this.logger,
    });
  }

  onModuleInit(): void {
    if (!this.bullConfigured) {
      if (this.config.get('JobQueue').enabled) {
        this.logger.warn(
          'JobQueue.enabled but Redis is not configured: the in-process scheduler runs the queues',
        );
      }
      return;
    }
    for (const cls of QUEUE_CLASSES) {
      const queue = this.moduleRef.get<Queue>(getQueueToken(cls), { strict: false });
      // Without a listener BullMQ prints every connection error to stderr (console.error), bypassing the logs.
      const warn = throttled(ERROR_LOG_EVERY_MS, (err, suppressed) =>
        this.logger.warn({ err, suppressed, queue: cls }, 'queue connection error'),
      );
      queue.on('error', (err: Error) => warn(err.message));
      this.queues.set(cls, queue);
    }
    const sub = this.redis.createDedicatedConnection('switchyard:queue-sub');
    this.subscriber = sub;
    const jq = this.config.get('JobQueue');
    this.relay = new JobRelay(
      // The client whatever the watchdog says (a slow ping on a busy loop): its commands still fail fast.
      () => this.redis.client as Redis | undefined,
      sub,
      this.keys.relayChannel(this.instances.id),
      this.keys,
      {
        aliveMs: jq.workerLostMs,
        workerLostMs: jq.workerLostMs,
      },
    );
    const relay = this.relay;
    // The client whatever the watchdog says, as for the relay; this process's own jobs skip the PUBLISH.
    this.outbox = new RelayOutbox(
      () => this.redis.client as Redis | undefined,
      (channel) => (channel === relay.channel ? (entries) => relay.deliverEntries(entries) : undefined),
    );
    sub.on('ready', () => {
      void sub.subscribe(this.keys.cancelChannel, this.keys.scheduledChannel).catch(() => undefined);
    });
    sub.on('message', (channel: string, message: string) => {
      if (channel === this.keys.cancelChannel) {
        this.running.get(message)?.abort(new Error('cancelled by the requester'));
      } else if (channel === this.keys.scheduledChannel) {
        this.deliverBroadcast(message);
      }
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.bullConfigured && this.runsWorkers) {
      await this.upsertSchedules();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.abortRunningJobs();
    this.relay?.stop();
  }

  /** Redis answers right now (the watchdog's verdict). */
  get redisAvailable(): boolean {
    return this.redis.available !== undefined;
  }

  /** Shutdown: 'idle' once this process runs no job (checked every 50 ms), 'late' after `withinMs`. */
  whenNoJobsRun(withinMs: number): Promise<'idle' | 'late'> {
    const until = Date.now() + withinMs;
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.running.size === 0) {
          resolve('idle');
        } else if (Date.now() >= until) {
          resolve('late');
        } else {
          setTimeout(check, 50);
        }
      };
      check();
    });
  }

  /** Shutdown past its grace: every job this process still runs is aborted, so it can be handed back. */
  abortRunningJobs(): void {
    this.shutdown.abort();
  }

  /** BullMQ is set up (JobQueue.enabled with Redis configured); whether it is usable right now is `mode`. */
  get bullConfigured(): boolean {
    return this.config.get('JobQueue').enabled && this.redis.configured;
  }

  get runsWorkers(): boolean {
    return this.config.get('JobQueue').role !== 'api';
  }

  get mode(): QueueMode {
    return this.bullConfigured && this.modes.isDistributed('queue') && this.relay ? 'bullmq' : 'local';
  }

  /** Seed priority of a class (higher first). */
  priorityOf(cls: QueueClass): number {
    return this.config.get('JobQueue').queues[cls].priority;
  }

  /**
   * The class of a request the client did not classify itself (`x-switchyard-priority` is read once, by
   * QueueInterceptor): `background` for the Router's background scenario, else `interactive`.
   */
  classify(scenario: string): QueueClass {
    return scenario === 'background' ? 'background' : 'interactive';
  }

  /**
   * Runs one request's upstream work in its class: queued on BullMQ, or by the in-process scheduler.
   * `onWaited` hears how long the work waited for its turn (also when it never got one).
   */
  async run(
    job: UpstreamJob,
    cls: QueueClass,
    signal: AbortSignal,
    onWaited?: (ms: number) => void,
  ): Promise<FailoverResult> {
    if (this.mode === 'bullmq') {
      const queued = await this.runQueued(job, cls, signal, onWaited);
      if (queued) {
        return queued;
      }
    }
    const settings = this.config.get('JobQueue').queues[cls];
    return runLocalRequest(
      { local: this.local, upstream: this.upstream, settings },
      job,
      cls,
      signal,
      onWaited,
    );
  }

  registerHandler<T>(name: string, handler: JobHandler<T>): void {
    if (name === REQUEST_JOB) {
      throw new Error(`"${REQUEST_JOB}" is reserved`);
    }
    this.handlers.set(name, handler as JobHandler<unknown>);
  }

  /** A durable job: BullMQ when available (attempts + exponential backoff per class), else in-process. */
  async addJob<T>(cls: QueueClass, name: string, data: T, opts: { jobId?: string } = {}): Promise<void> {
    await this.addJobs(cls, name, [{ data, jobId: opts.jobId }]);
  }

  /**
   * Durable jobs of one class, added in bulk (BullMQ `addBulk`, ADD_BULK_CHUNK per round trip: a batch of
   * 10,000 requests is queued in a few round trips, not 10,000). A chunk BullMQ does not take runs in-process.
   */
  async addJobs<T>(cls: QueueClass, name: string, jobs: Array<{ data: T; jobId?: string }>): Promise<void> {
    const s = this.config.get('JobQueue').queues[cls];
    const queue = this.queues.get(cls);
    const withIds = jobs.map((j) => ({ data: j.data, jobId: j.jobId ?? randomUUID() }));
    for (let at = 0; at < withIds.length; at += ADD_BULK_CHUNK) {
      const chunk = withIds.slice(at, at + ADD_BULK_CHUNK);
      if (this.mode === 'bullmq' && queue) {
        const opts = {
          attempts: s.attempts,
          backoff: { type: 'exponential', delay: s.backoffMs },
          ...this.retention(),
        };
        try {
          await withTimeout(
            queue.addBulk(chunk.map((j) => ({ name, data: j.data, opts: { ...opts, jobId: j.jobId } }))),
            2000 + 10 * chunk.length,
            'queue add',
          );
          continue;
        } catch (err) {
          this.logger.warn(
            { err: (err as Error).message, name, jobs: chunk.length },
            'queue: BullMQ add failed; running the jobs in-process',
          );
        }
      }
      for (const j of chunk) {
        this.localJobs.add(cls, name, j.jobId, j.data);
      }
    }
  }

  /** Removes a job that has not started yet; true when it was removed. */
  async removeJob(cls: QueueClass, jobId: string): Promise<boolean> {
    const local = this.localJobs.remove(jobId);
    if (local !== undefined) {
      return local;
    }
    const queue = this.queues.get(cls);
    if (!queue) {
      return false;
    }
    try {
      return (await withTimeout(queue.remove(jobId), 2000, 'queue remove')) === 1;
    } catch {
      return false;
    }
  }

  /** Sends `payload` to every instance's listeners of `name` (scheduled jobs that run once per cluster). */
  async broadcast(name: string, payload: unknown): Promise<void> {
    const client = this.redis.available;
    if (!client || this.mode !== 'bullmq') {
      this.deliverBroadcast(JSON.stringify({ name, payload }));
      return;
    }
    await client.publish(this.keys.scheduledChannel, JSON.stringify({ name, payload })).catch(() => {
      this.deliverBroadcast(JSON.stringify({ name, payload }));
    });
  }

  onBroadcast(name: string, listener: (payload: unknown) => void): void {
    this.broadcastListeners.set(name, [...(this.broadcastListeners.get(name) ?? []), listener]);
  }

  /** Queue depths by class: BullMQ counts when queued, the in-process scheduler's otherwise. */
  async depth(): Promise<Record<QueueClass, Record<string, number>>> {
    const out = {} as Record<QueueClass, Record<string, number>>;
    const localDepth = this.local.depth();
    for (const cls of QUEUE_CLASSES) {
      const queue = this.queues.get(cls);
      let counts: Record<string, number> = {
        local_running: localDepth[cls].running,
        local_waiting: localDepth[cls].waiting,
      };
      if (queue && this.mode === 'bullmq') {
        try {
          const bull = await withTimeout(
            queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'),
            1000,
            'queue counts',
          );
          counts = { ...counts, ...bull };
        } catch {
          // counts stay local
        }
      }
      out[cls] = counts;
    }
    return out;
  }

  /** Requests of a class waiting for their turn in this process's scheduler, without any I/O. */
  localWaiting(cls: QueueClass): number {
    return this.local.depth()[cls].waiting;
  }

  get relayedInFlight(): number {
    return this.relay?.size ?? 0;
  }

  // ── worker side ────────────────────────────────────────────────────────────────────────────────

  /** Called by the class processors for every BullMQ job this process runs. */
  async process(job: Job): Promise<unknown> {
    if (job.name === REQUEST_JOB) {
      return this.processRequest(job as Job<RequestJobData<UpstreamJob>>);
    }
    const handler = this.handlers.get(job.name);
    if (!handler) {
      throw new Error(`no handler for job "${job.name}" on this worker`);
    }
    const ac = new AbortController();
    const onShutdown = (): void => ac.abort(new Error('worker shutting down'));
    this.shutdown.signal.addEventListener('abort', onShutdown, { once: true });
    this.running.set(String(job.id), ac);
    try {
      const attempt = job.attemptsMade + 1;
      await handler(job.data, {
        jobId: String(job.id),
        attempt,
        finalAttempt: attempt >= (job.opts.attempts ?? 1),
        signal: ac.signal,
      });
      return undefined;
    } finally {
      this.running.delete(String(job.id));
      this.shutdown.signal.removeEventListener('abort', onShutdown);
    }
  }

  private processRequest(job: Job<RequestJobData<UpstreamJob>>): Promise<unknown> {
    const jq = this.config.get('JobQueue');
    return runRequestJob(
      {
        redis: this.redis,
        keys: this.keys,
        workerId: this.instances.id,
        upstream: this.upstream,
        outbox: this.outbox as RelayOutbox,
        running: this.running,
        workerLostMs: jq.workerLostMs,
        workerHeartbeatMs: jq.workerHeartbeatMs,
      },
      job,
    );
  }

  // ── API side ──────────────────────────────────────────────────────────────────────────────────

  /** undefined when the queue could not take the job (Redis trouble): the caller runs it locally. */
  private runQueued(
    job: UpstreamJob,
    cls: QueueClass,
    signal: AbortSignal,
    onWaited?: (ms: number) => void,
  ): Promise<FailoverResult | undefined> {
    const jq = this.config.get('JobQueue');
    return runQueuedRequest(
      {
        redis: this.redis,
        keys: this.keys,
        relay: this.relay as JobRelay,
        queue: this.queues.get(cls) as Queue,
        instanceId: this.instances.id,
        cls,
        maxWaitMs: jq.queues[cls].maxWaitMs,
        workerLostMs: jq.workerLostMs,
        // BullMQ on the hot path's Redis server (JobQueue.redis unset): the requester key can share its socket.
        sameServer: !jq.redis,
        retention: this.retention(),
        logger: this.logger,
      },
      job,
      signal,
      onWaited,
    );
  }

  private retention(): {
    removeOnComplete: { count: number; age: number };
    removeOnFail: { count: number; age: number };
  } {
    const jq = this.config.get('JobQueue');
    return {
      removeOnComplete: { count: jq.keepCompleted.count, age: jq.keepCompleted.ageSec },
      removeOnFail: { count: jq.keepFailed.count, age: jq.keepFailed.ageSec },
    };
  }

  /** Removes finished jobs past their retention (belt and braces: every job is added with retention). */
  async prune(): Promise<number> {
    const jq = this.config.get('JobQueue');
    let removed = 0;
    for (const queue of this.queues.values()) {
      removed += (await queue.clean(jq.keepCompleted.ageSec * 1000, 10_000, 'completed')).length;
      removed += (await queue.clean(jq.keepFailed.ageSec * 1000, 10_000, 'failed')).length;
    }
    return removed;
  }

  // ── scheduled jobs (once per cluster) ─────────────────────────────────────────────────────────

  private readonly schedules = new Map<string, number>();

  /** A repeatable job run once per cluster every `everyMs` (BullMQ job scheduler on the background queue). */
  schedule(name: string, everyMs: number, handler: JobHandler<unknown>): void {
    if (everyMs <= 0) {
      return;
    }
    this.registerHandler(name, handler);
    this.schedules.set(name, everyMs);
  }

  private async upsertSchedules(): Promise<void> {
    const queue = this.queues.get('background');
    if (!queue) {
      return;
    }
    for (const [name, every] of this.schedules) {
      try {
        await withTimeout(
          queue.upsertJobScheduler(
            name,
            // The first run one period from now (like the per-instance timers), not at every boot.
            { every, startDate: Date.now() + every },
            { name, data: {}, opts: { attempts: 1, ...this.retention() } },
          ),
          2000,
          'job scheduler',
        );
      } catch (err) {
        this.logger.warn({ err: (err as Error).message, name }, 'queue: could not register a scheduled job');
      }
    }
  }

  private deliverBroadcast(message: string): void {
    try {
      const { name, payload } = JSON.parse(message) as { name: string; payload: unknown };
      for (const listener of this.broadcastListeners.get(name) ?? []) {
        listener(payload);
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'queue: bad broadcast');
    }
  }
}
