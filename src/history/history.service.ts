import {
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { RequestOutcomeService } from '../common/request-outcome';
import { AppConfigService } from '../config/config.service';
import type { SlaHistorySource, SlaWindowTotals } from '../metrics/sla.types';
import { TimeoutPolicyService } from '../timeout/timeout-policy.service';
import { resolveHistoryPath } from './history-path';
import { toHistoryRow } from './history-row';
import { HistoryWorkerClient } from './history-worker.client';
import { HistoryWriter } from './history-writer';
import type { HistoryStats, WindowSummary } from './history.types';

const DAY_MS = 24 * 3600 * 1000;
/** The SLA endpoint and the status page ask often; a month of rows is scanned at most this often. */
const SLA_CACHE_MS = 30_000;
/** Timeout seeding looks back as far as the timeout history's own persistence keeps samples. */
const SEED_LOOKBACK_MS = 7 * DAY_MS;
const SHUTDOWN_DRAIN_MS = 2000;

type Window30d = SlaWindowTotals | undefined;

/**
 * Request history in SQLite: one row per finished request (from `RequestOutcomeService`), queued in
 * memory and written in batches by a worker thread, so no disk trouble ever reaches a request. Feeds the
 * 30-day SLA window, the adaptive timeouts at boot and `switchyard report`.
 */
@Injectable()
export class HistoryService
  implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown, SlaHistorySource
{
  private client?: HistoryWorkerClient;
  private writer?: HistoryWriter;
  private unsubscribe?: () => void;
  private pruneTimer?: NodeJS.Timeout;
  private path: string | null = null;
  private pruned = 0;
  private lastPruneAt: number | null = null;
  private shutDown = false;
  private sla?: { at: number; value: Window30d };
  private slaInFlight?: Promise<Window30d>;
  private lastBatchFailed = false;

  constructor(
    private readonly config: AppConfigService,
    private readonly outcomes: RequestOutcomeService,
    private readonly timeouts: TimeoutPolicyService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('history');
  }

  get enabled(): boolean {
    return this.writer !== undefined;
  }

  onModuleInit(): void {
    const h = this.config.get('History');
    if (!h.enabled) {
      return;
    }
    this.path = resolveHistoryPath(h.path);
    const client = new HistoryWorkerClient({ path: this.path, busyTimeoutMs: h.busyTimeoutMs });
    const writer = new HistoryWriter(
      (rows) => client.call<number>({ op: 'insert', rows }).then(() => undefined),
      { batchSize: h.batchSize, flushIntervalMs: h.flushIntervalMs, maxQueue: h.maxQueue },
      (err) => this.afterBatch(err),
    );
    this.client = client;
    this.writer = writer;
    writer.start();
    this.unsubscribe = this.outcomes.subscribe((outcome) => {
      writer.push(toHistoryRow(outcome));
    });
    client.call({ op: 'open' }).then(
      () => writer.noteSuccess(),
      (err: Error) => {
        writer.noteFailure(err);
        this.logger.warn(
          { path: this.path, err: err.message },
          'request history not writable; requests are served, rows are retried while the queue has room',
        );
      },
    );
    if (h.pruneIntervalMs > 0) {
      this.pruneTimer = setInterval(() => void this.prune().catch(() => undefined), h.pruneIntervalMs);
      this.pruneTimer.unref();
    }
  }

  onApplicationBootstrap(): void {
    if (!this.client) {
      return;
    }
    void this.prune().catch(() => undefined);
    if (this.config.get('History').seedTimeouts) {
      void this.seedTimeouts(this.client);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.shutDown = true;
    this.unsubscribe?.();
    clearInterval(this.pruneTimer);
    await this.writer?.drain(SHUTDOWN_DRAIN_MS);
    await this.client?.close();
  }

  /** Deletes rows older than `History.retentionDays`; the number removed. */
  async prune(now = Date.now()): Promise<number> {
    if (!this.client || this.shutDown) {
      return 0;
    }
    const beforeTs = now - this.config.get('History').retentionDays * DAY_MS;
    try {
      const removed = await this.client.call<number>({ op: 'prune', beforeTs }, 60_000);
      this.pruned += removed;
      this.lastPruneAt = Date.now();
      if (removed > 0) {
        this.logger.info({ removed }, 'pruned request history');
      }
      return removed;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'request history prune failed');
      throw err;
    }
  }

  /**
   * SLA over the last 30 days (`SLA_HISTORY_SOURCE`), counted as the in-memory windows count: undefined
   * when the history is off, unreadable, or holds no counted row for the period.
   */
  async window30d(now: number): Promise<Window30d> {
    if (!this.client || this.shutDown) {
      return undefined;
    }
    if (this.sla && now >= this.sla.at && now - this.sla.at < SLA_CACHE_MS) {
      return this.sla.value;
    }
    this.slaInFlight ??= this.client
      .call<WindowSummary>({ op: 'window', from: now - 30 * DAY_MS, to: now + 1 })
      .then(
        (w) => {
          const value =
            w.total === 0
              ? undefined
              : { total: w.total, failed: w.failed, p50: w.p50 ?? 0, p95: w.p95 ?? 0, p99: w.p99 ?? 0 };
          this.sla = { at: now, value };
          return value;
        },
        (err: Error) => {
          this.logger.debug({ err: err.message }, 'history SLA window not read');
          return undefined;
        },
      )
      .finally(() => {
        this.slaInFlight = undefined;
      });
    return this.slaInFlight;
  }

  stats(): HistoryStats {
    const w = this.writer?.stats();
    return {
      enabled: this.writer !== undefined,
      path: this.path,
      state: !w ? 'disabled' : this.shutDown ? 'closed' : w.failing ? 'failing' : 'ok',
      queued: w?.queued ?? 0,
      maxQueue: w?.maxQueue ?? this.config.get('History').maxQueue,
      accepted: w?.accepted ?? 0,
      written: w?.written ?? 0,
      dropped: w?.dropped ?? 0,
      writeErrors: w?.writeErrors ?? 0,
      lastError: w?.lastError ?? null,
      lastWriteAt: w?.lastWriteAt ?? null,
      pruned: this.pruned,
      lastPruneAt: this.lastPruneAt,
    };
  }

  /** Readiness detail: never fatal (the gateway serves without its history). */
  healthDetails(): Record<string, unknown> {
    const s = this.stats();
    return {
      state: s.state,
      queued: s.queued,
      dropped: s.dropped,
      writeErrors: s.writeErrors,
      ...(s.state === 'failing' && s.lastError ? { error: s.lastError.message, code: s.lastError.code } : {}),
    };
  }

  private afterBatch(err: Error | undefined): void {
    const wasFailing = this.lastBatchFailed;
    this.lastBatchFailed = err !== undefined;
    if (err && !wasFailing) {
      this.logger.warn(
        { path: this.path, err: err.message, code: (err as { code?: unknown }).code },
        'request history write failed; rows are kept for a retry while the queue has room',
      );
    } else if (!err && wasFailing) {
      this.logger.info({ path: this.path }, 'request history writes resumed');
    }
  }

  private async seedTimeouts(client: HistoryWorkerClient): Promise<void> {
    const perTarget = this.config.get('AdaptiveTimeout').historySize;
    try {
      const record = await client.call<Record<string, number[]>>({
        op: 'ttfbSamples',
        sinceTs: Date.now() - SEED_LOOKBACK_MS,
        perTarget,
      });
      let targets = 0;
      for (const [target, samples] of Object.entries(record)) {
        if (this.timeouts.seedFirstByte(target, samples)) {
          targets++;
        }
      }
      if (targets > 0) {
        this.logger.info({ targets }, 'adaptive timeouts seeded from the request history');
      }
    } catch (err) {
      this.logger.debug(
        { err: (err as Error).message },
        'adaptive timeouts not seeded from the request history',
      );
    }
  }
}
