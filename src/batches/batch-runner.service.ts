import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { PinoLogger } from 'nestjs-pino';
import { AppConfigService } from '../config/config.service';
import { FeaturesService } from '../features/features.service';
import { GatewayService } from '../gateway/gateway.service';
import { parseMessagesRequest } from '../gateway/request-validation';
import { GatewayError } from '../protocol/errors';
import type { ErrorPayload, MessageResponse } from '../protocol/types';
import { QueueService } from '../queue/queue.service';
import type { JobContext } from '../queue/queue.types';
import { SPAN } from '../tracing/span-names';
import { TracingService } from '../tracing/tracing.service';
import { collectMessage } from './batch-answer';
import { capacityWaitMs, classifyFailure } from './batch-errors';
import { BATCH_STORE, type BatchStore } from './batch.store';
import { BATCH_JOB, type BatchJobData, type BatchRecord, type Outcome } from './batch.types';

/** Jobs added at once while a batch is enqueued (BullMQ adds are one round trip each). */
const ENQUEUE_CONCURRENCY = 32;
/** A canceling batch whose remaining requests never came back (their jobs lost) is ended after this. */
export const CANCEL_GRACE_MS = 60_000;

type LocalStop = 'canceled' | 'expired';

/** A request's call once it got through, or why it stopped waiting for capacity. */
type PatientCall = { message: MessageResponse } | { stop: 'expired' | 'canceled' | 'gone' };

export const jobIdFor = (batchId: string, index: number): string => `${batchId}-${index}`;

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function eachLimited<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      await fn(items[next++]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/**
 * The worker side of batches: one durable `batch-request` job per request runs it through the gateway's
 * normal path (routing, cache, coalescing, failover) and records its result; cancel and expiry settle
 * what has not run. A request's result is written once (the store guarantees it), so retries, a restart
 * or two instances racing never count a request twice.
 */
@Injectable()
export class BatchRunnerService implements OnModuleInit, OnApplicationShutdown {
  /** Requests running in this process, by batch: cancel and expiry stop them here at once. */
  private readonly running = new Map<string, Set<AbortController>>();
  private sweepTimer?: NodeJS.Timeout;
  private firstSweep?: NodeJS.Timeout;
  private sweeping = false;
  private resumed = false;
  /** Only batches older than this process can have lost their in-process jobs to a restart. */
  private readonly bootedAt = Date.now();

  constructor(
    @Inject(BATCH_STORE) private readonly store: BatchStore,
    private readonly gateway: GatewayService,
    private readonly queue: QueueService,
    private readonly config: AppConfigService,
    private readonly logger: PinoLogger,
    private readonly tracing: TracingService,
    private readonly features: FeaturesService,
  ) {
    this.logger.setContext('batches');
  }

  onModuleInit(): void {
    this.queue.registerHandler<BatchJobData>(BATCH_JOB, (data, ctx) => this.runJob(data, ctx));
    if (!this.config.get('Batches').enabled) {
      return;
    }
    const every = this.sweepIntervalMs();
    this.sweepTimer = setInterval(() => void this.sweep(), every);
    this.sweepTimer.unref();
    // Soon after boot: a restart may have left expired batches or (queue in memory) requests to resume.
    this.firstSweep = setTimeout(() => void this.sweep(), Math.min(every, 1000));
    this.firstSweep.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweepTimer);
    clearTimeout(this.firstSweep);
  }

  /** One job per request (job id = batch id + index, so a repeated add is a no-op on BullMQ). */
  async enqueue(batchId: string, indexes: number[]): Promise<void> {
    const trace = this.tracing.carrier();
    await this.queue.addJobs<BatchJobData>(
      'batch',
      BATCH_JOB,
      indexes.map((index) => ({ data: { batchId, index, trace }, jobId: jobIdFor(batchId, index) })),
    );
  }

  /** Takes back the jobs not started yet and stops the requests running here; they all end `canceled`. */
  async cancel(record: BatchRecord): Promise<void> {
    const pending = await this.store.pending(record.id);
    const removed: number[] = [];
    await eachLimited(pending, ENQUEUE_CONCURRENCY, async (index) => {
      if (await this.queue.removeJob('batch', jobIdFor(record.id, index))) {
        removed.push(index);
      }
    });
    await this.store.settle(
      record.id,
      removed.map((index) => ({ index, outcome: 'canceled', result: { type: 'canceled' } })),
      Date.now(),
    );
    this.stopLocal(record.id, 'canceled');
  }

  /** Every request without a result expires; the batch ends. */
  async expire(batchId: string, now: number): Promise<void> {
    const { settled } = await this.store.settleRemaining(batchId, 'expired', { type: 'expired' }, now);
    this.stopLocal(batchId, 'expired');
    if (settled > 0) {
      this.logger.info({ batchId, expired: settled }, 'batch expired');
    }
  }

  async runJob(data: BatchJobData, ctx: JobContext): Promise<void> {
    const { batchId, index } = data;
    const record = await this.store.get(batchId);
    if (!record || record.status === 'ended') {
      return; // deleted, or settled by cancel / expiry meanwhile
    }
    const now = Date.now();
    if (now >= record.expiresAt) {
      await this.expire(batchId, now);
      return;
    }
    if (record.status === 'canceling') {
      await this.settleOne(batchId, index, 'canceled');
      return;
    }
    const params = await this.store.params(batchId, index);
    if (params === undefined) {
      return; // already has its result (a retry after the result was written)
    }
    const local = new AbortController();
    const requestId = `${batchId}-${index}-${ctx.attempt}`;
    this.track(batchId, local);
    try {
      const done = await this.tracing.spanFrom(
        data.trace,
        SPAN.batchRequest,
        () =>
          this.callPatiently(
            batchId,
            params,
            AbortSignal.any([ctx.signal, local.signal]),
            requestId,
            record.expiresAt,
          ),
        {
          'switchyard.batch.id': batchId,
          'switchyard.batch.index': index,
          'switchyard.job.attempt': ctx.attempt,
        },
      );
      if ('stop' in done) {
        if (done.stop === 'expired') {
          await this.expire(batchId, Date.now());
        } else if (done.stop === 'canceled') {
          await this.settleOne(batchId, index, 'canceled');
        }
        return;
      }
      await this.store.settle(
        batchId,
        [{ index, outcome: 'succeeded', result: { type: 'succeeded', message: done.message } }],
        Date.now(),
      );
    } catch (err) {
      if (local.signal.aborted) {
        await this.settleOne(batchId, index, local.signal.reason as LocalStop);
        return;
      }
      if (ctx.signal.aborted) {
        throw err; // the worker is going away: the job goes back to the queue
      }
      const failure = classifyFailure(err);
      if (failure.unexpected) {
        this.logger.warn({ err, batchId, index }, 'batch request failed unexpectedly');
      }
      if (failure.retryable && !ctx.finalAttempt) {
        this.logger.debug(
          { batchId, index, attempt: ctx.attempt, error: failure.error },
          'batch request retried',
        );
        throw err;
      }
      await this.settleErrored(batchId, index, failure.error, requestId);
    } finally {
      this.untrack(batchId, local);
    }
  }

  /**
   * The call, made again after each failure that is only a lack of capacity (`capacityWaitMs`) once its wait
   * is over, until it gets through, the batch expires or is canceled (here, or on another instance: the
   * batch is read again after each wait). Those waits do not spend the job's attempts.
   */
  private async callPatiently(
    batchId: string,
    params: Record<string, unknown>,
    signal: AbortSignal,
    requestId: string,
    expiresAt: number,
  ): Promise<PatientCall> {
    for (let waits = 0; ; waits++) {
      try {
        return { message: await this.call(params, signal, requestId) };
      } catch (err) {
        const waitMs = capacityWaitMs(err, waits);
        if (waitMs === undefined || signal.aborted) {
          throw err;
        }
        // Spread the requests that wait on one limit, so they do not all come back in the same instant.
        const spread = Math.random() * Math.min(1000, waitMs / 10);
        this.logger.debug({ batchId, requestId, waitMs }, 'batch request waits for upstream capacity');
        // An abort (cancel, expiry, shutdown) rejects here: runJob's catch settles or hands the job back.
        await sleep(Math.max(0, Math.min(waitMs + spread, expiresAt - Date.now())), undefined, { signal });
      }
      if (Date.now() >= expiresAt) {
        return { stop: 'expired' };
      }
      const current = await this.store.get(batchId);
      if (!current || current.status === 'ended') {
        return { stop: 'gone' };
      }
      if (current.status === 'canceling') {
        return { stop: 'canceled' };
      }
    }
  }

  /** The request through the gateway's normal path, folded into a Message. */
  private async call(
    params: Record<string, unknown>,
    signal: AbortSignal,
    requestId: string,
  ): Promise<MessageResponse> {
    // Validated here, not when the batch was created (as Anthropic does): an invalid request is errored alone.
    if (params.stream === true) {
      throw new GatewayError(400, 'stream: streaming is not supported in a batch', {
        type: 'invalid_request_error',
      });
    }
    const request = { ...parseMessagesRequest(params), stream: false };
    const answer = await this.gateway.open(request, {
      headers: {},
      signal,
      requestId,
      queueClass: 'batch',
      direct: true,
      // Each batch request is bucketed on its own (its session, else its params), like a direct request.
      features: this.features.decideFor(params, {}),
    });
    return collectMessage(answer);
  }

  private async settleOne(batchId: string, index: number, outcome: 'canceled' | 'expired'): Promise<void> {
    await this.store.settle(batchId, [{ index, outcome, result: { type: outcome } }], Date.now());
  }

  private async settleErrored(
    batchId: string,
    index: number,
    error: ErrorPayload,
    requestId: string,
  ): Promise<void> {
    const outcome: Outcome = 'errored';
    await this.store.settle(
      batchId,
      [
        {
          index,
          outcome,
          result: { type: 'errored', error: { type: 'error', error, request_id: requestId } },
        },
      ],
      Date.now(),
    );
  }

  /** Expiry of overdue batches, the end of stuck cancellations, retention; each instance runs it. */
  async sweep(): Promise<void> {
    if (this.sweeping) {
      return;
    }
    this.sweeping = true;
    try {
      const now = Date.now();
      for (const record of await this.store.unfinished()) {
        if (record.expiresAt <= now) {
          await this.expire(record.id, now);
        } else if (
          record.status === 'canceling' &&
          (record.cancelInitiatedAt ?? now) + CANCEL_GRACE_MS <= now
        ) {
          await this.store.settleRemaining(record.id, 'canceled', { type: 'canceled' }, now);
          this.stopLocal(record.id, 'canceled');
        } else if (!this.resumed) {
          await this.resume(record);
        }
      }
      this.resumed = true;
      await this.store.prune(now);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'batch sweep failed; trying again later');
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * Batches in Redis with the queue in memory (JobQueue off): the jobs of a previous process are gone, so
   * the pending requests are queued again once after boot. With BullMQ the jobs are durable themselves.
   */
  private async resume(record: BatchRecord): Promise<void> {
    if (!this.store.durable || this.queue.bullConfigured || record.createdAt >= this.bootedAt) {
      return;
    }
    const pending = await this.store.pending(record.id);
    if (record.status === 'canceling') {
      await this.store.settle(
        record.id,
        pending.map((index) => ({ index, outcome: 'canceled', result: { type: 'canceled' } })),
        Date.now(),
      );
      return;
    }
    this.logger.info({ batchId: record.id, pending: pending.length }, 'batch resumed after a restart');
    await this.enqueue(record.id, pending);
  }

  private sweepIntervalMs(): number {
    const expiresMs = this.config.get('Batches').expiresAfterSec * 1000;
    return Math.min(60_000, Math.max(1000, Math.floor(expiresMs / 10)));
  }

  private track(batchId: string, ac: AbortController): void {
    let set = this.running.get(batchId);
    if (!set) {
      set = new Set();
      this.running.set(batchId, set);
    }
    set.add(ac);
  }

  private untrack(batchId: string, ac: AbortController): void {
    const set = this.running.get(batchId);
    set?.delete(ac);
    if (set?.size === 0) {
      this.running.delete(batchId);
    }
  }

  private stopLocal(batchId: string, why: LocalStop): void {
    for (const ac of this.running.get(batchId) ?? []) {
      ac.abort(why);
    }
  }
}
