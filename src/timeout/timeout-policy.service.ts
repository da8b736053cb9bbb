import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { isDeepStrictEqual } from 'node:util';
import { PinoLogger } from 'nestjs-pino';
import { staleTargets } from '../config/config-diff';
import type { SwitchyardConfig } from '../config/config.schema';
import { AppConfigService } from '../config/config.service';
import { RedisService } from '../redis/redis.service';
import { LatencyWindow, type Percentiles } from './latency-window';
import { TimeoutHistoryStore, type HistoryRecord } from './timeout-history.store';

export interface PlanInput {
  target: string;
  /** The client's model name; `modelMultipliers` are looked up by target, its model, then this. */
  model: string;
  inputTokens: number;
  maxTokens: number;
  /** Non-stream answers produce their first event only at the end: no separate first-byte deadline. */
  stream?: boolean;
  /** false: the request's `adaptiveTimeout` feature is off, the configured deadlines apply (default true). */
  adaptive?: boolean;
}

export interface AttemptPlan {
  totalMs: number;
  firstByteMs: number;
  idleMs: number;
  /** 'learned' once the target has `minSamples` samples, else the configured default. */
  firstByteSource: 'learned' | 'default';
  idleSource: 'learned' | 'default';
}

interface TargetHistory {
  ttfb: LatencyWindow;
  gap: LatencyWindow;
  /** Samples recorded by this process since start (the rest came from persistence). */
  live: { ttfb: number; gap: number };
}

export interface TargetPrediction {
  target: string;
  firstByteMs: number;
  firstByteSource: 'learned' | 'default';
  idleMs: number;
  idleSource: 'learned' | 'default';
  hedgeDelayMs: number | null;
  ttfb: Percentiles;
  idleGap: Percentiles;
}

const FLUSH_MS = 10_000;
/** First-byte timeouts in a row after which a target's learned first-byte deadline is doubled. */
export const RAISE_AFTER_FIRST_BYTE_TIMEOUTS = 3;
const RESTORE_DELAY_MS = 1_000;
const HISTORY_TTL_MS = 7 * 24 * 3600 * 1000;
/** Targets come from configuration; the cap only guards against a config that keeps growing under reload. */
const MAX_TARGETS = 1_000;

const clamp = (v: number, min: number, max: number): number => Math.min(max, Math.max(min, v));

/**
 * Adaptive deadlines. Total = min(maxTimeout ?? API_TIMEOUT_MS, (baseTimeout + first byte + max_tokens at
 * minTokensPerSecond) × multiplier): it only bounds an answer that is slower than any healthy model, a
 * stall is the idle deadline's job. First byte and idle gap = p99 of the target's recent history × k,
 * clamped, falling back to configured values until `minSamples` exist. History is in memory, persisted to
 * Redis (shared) and/or a JSON file so a restart does not forget it.
 */
@Injectable()
export class TimeoutPolicyService implements OnModuleInit, OnApplicationShutdown {
  private readonly targets = new Map<string, TargetHistory>();
  private readonly dirty = new Set<string>();
  /** First-byte deadlines fired in a row per target (reset by a first byte). */
  private readonly firstByteTimeouts = new Map<string, number>();
  /** Factor on a target's learned first-byte deadline after timeouts in a row (recordFirstByteTimeout). */
  private readonly firstByteRaise = new Map<string, number>();
  private store!: TimeoutHistoryStore;
  private flushTimer?: NodeJS.Timeout;
  private restoreTimer?: NodeJS.Timeout;
  private restoredFromRedis = false;
  private flushing?: Promise<void>;
  private unsubscribe?: () => void;

  constructor(
    private readonly config: AppConfigService,
    private readonly redis: RedisService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('timeouts');
  }

  onModuleInit(): void {
    const redis = this.config.get('Redis');
    this.store = new TimeoutHistoryStore({
      redis: () => this.redis.available,
      key: `${redis.keyPrefix}timeouts:v1:history`,
      ttlMs: HISTORY_TTL_MS,
      commandTimeoutMs: redis.commandTimeoutMs,
      path: this.config.get('AdaptiveTimeout').historyPath,
    });
    this.merge(this.store.loadFile());
    this.unsubscribe = this.config.onChange((next, previous) => this.providersChanged(next, previous));
    this.flushTimer = setInterval(() => void this.flush(), FLUSH_MS);
    this.flushTimer.unref();
    // Redis connects asynchronously after init; pick its history up as soon as it is likely there.
    this.restoreTimer = setTimeout(() => void this.restore(), RESTORE_DELAY_MS);
    this.restoreTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.unsubscribe?.();
    clearInterval(this.flushTimer);
    clearTimeout(this.restoreTimer);
    await this.flush();
  }

  /**
   * A provider removed, or pointed at another endpoint, key or headers, starts learning over: deadlines learned
   * from the old upstream would cut a slower new one at its first byte, and a cut attempt teaches nothing.
   */
  private providersChanged(next: SwitchyardConfig, previous: SwitchyardConfig): void {
    if (isDeepStrictEqual(next.Providers, previous.Providers)) {
      return;
    }
    for (const t of staleTargets(previous, next, this.targets.keys()).targets) {
      this.targets.delete(t);
      this.dirty.delete(t);
      this.firstByteTimeouts.delete(t);
      this.firstByteRaise.delete(t);
    }
  }

  plan(input: PlanInput): AttemptPlan {
    const at = this.config.get('AdaptiveTimeout');
    const useLearned = input.adaptive !== false;
    const first = this.firstByte(input.target, input.inputTokens, useLearned);
    const totalMs = this.totalMs(input, first.ms);
    const idle = this.idle(input.target, useLearned);
    return {
      totalMs,
      firstByteMs: input.stream === false ? totalMs : Math.min(first.ms, totalMs),
      firstByteSource: at.enabled ? first.source : 'default',
      idleMs: Math.min(idle.ms, totalMs),
      idleSource: idle.source,
    };
  }

  /**
   * The whole answer's budget: its first byte, then all of `max_tokens` at the slowest rate a healthy model
   * streams (`minTokensPerSecond`), plus `baseTimeout` of slack, capped by `maxTimeout` (default
   * `API_TIMEOUT_MS`, the time Claude Code itself waits). A stream that keeps producing is therefore never
   * cut by it before the cap; one that stops is cut by the idle deadline. `firstByteMs` defaults to the
   * target's first-byte deadline.
   */
  totalMs(
    input: Pick<PlanInput, 'target' | 'model' | 'inputTokens' | 'maxTokens' | 'adaptive'>,
    firstByteMs?: number,
  ): number {
    const at = this.config.get('AdaptiveTimeout');
    const ceiling = at.maxTimeout ?? this.config.get('API_TIMEOUT_MS');
    if (!at.enabled) {
      return ceiling;
    }
    const m = at.modelMultipliers;
    const model = input.target.slice(input.target.indexOf(',') + 1);
    const multiplier = m[input.target] ?? m[model] ?? m[input.model] ?? 1;
    const first = firstByteMs ?? this.firstByte(input.target, input.inputTokens, input.adaptive !== false).ms;
    const outputMs = (Math.max(0, input.maxTokens) * 1000) / at.minTokensPerSecond;
    return Math.round(Math.min(ceiling, (at.baseTimeout + first + outputMs) * multiplier));
  }

  /** p99 TTFB × k clamped, plus a prefill allowance per input token; Failover.timeout without history. */
  firstByte(
    target: string,
    inputTokens = 0,
    useLearned = true,
  ): { ms: number; source: 'learned' | 'default' } {
    const at = this.config.get('AdaptiveTimeout');
    const prefill = Math.max(0, inputTokens) * at.firstByte.perInputTokenMs;
    const h = this.targets.get(target);
    if (!at.enabled || !useLearned || !h || h.ttfb.size < at.minSamples) {
      return { ms: Math.round(this.config.get('Failover').timeout + prefill), source: 'default' };
    }
    const raised = this.learnedFirstByte(h) * (this.firstByteRaise.get(target) ?? 1);
    return { ms: Math.round(Math.min(raised, at.firstByte.maxMs) + prefill), source: 'learned' };
  }

  /** p99 TTFB × k, clamped: the learned first-byte deadline before any raise or prefill allowance. */
  private learnedFirstByte(h: TargetHistory): number {
    const fb = this.config.get('AdaptiveTimeout').firstByte;
    return clamp((h.ttfb.percentile(99) ?? 0) * fb.k, fb.minMs, fb.maxMs);
  }

  /** p99 of each stream's longest gap × k clamped; idle.maxMs without history. */
  idle(target: string, useLearned = true): { ms: number; source: 'learned' | 'default' } {
    const at = this.config.get('AdaptiveTimeout');
    const h = this.targets.get(target);
    if (!at.enabled || !useLearned || !h || h.gap.size < at.minSamples) {
      return { ms: at.idle.maxMs, source: 'default' };
    }
    return {
      ms: Math.round(clamp((h.gap.percentile(99) ?? 0) * at.idle.k, at.idle.minMs, at.idle.maxMs)),
      source: 'learned',
    };
  }

  /**
   * How long a first byte may take before the attempt counts as a slow call (`Failover.breaker.slowCalls`):
   * the learned p99 TTFB × k, at least `minMs`, never past the first-byte deadline. Undefined while the
   * target has too little history (no slow-call trips on a target whose normal latency is unknown).
   */
  slowCallMs(target: string): number | undefined {
    const sc = this.config.get('Failover').breaker.slowCalls;
    const h = this.targets.get(target);
    if (!sc.enabled || !h || h.ttfb.size < this.config.get('AdaptiveTimeout').minSamples) {
      return undefined;
    }
    const p99 = h.ttfb.percentile(99) ?? 0;
    return Math.round(Math.min(Math.max(p99 * sc.k, sc.minMs), this.firstByte(target).ms));
  }

  /** The learned p95 TTFB (when a hedge should start), or undefined while there is too little history. */
  hedgeDelayMs(target: string): number | undefined {
    const h = this.targets.get(target);
    if (!h || h.ttfb.size < this.config.get('AdaptiveTimeout').minSamples) {
      return undefined;
    }
    return h.ttfb.percentile(95) ?? undefined;
  }

  /**
   * A first-byte deadline fired. RAISE_AFTER_FIRST_BYTE_TIMEOUTS of them in a row (no first byte in between)
   * on a learned deadline double the target's learned first-byte deadline (up to `firstByte.maxMs`): a cut
   * attempt teaches nothing, so a provider that became slower than its learned deadline for good would else
   * be cut at every first byte. Its history is kept — the slow-call threshold that gives up a hanging probe
   * stays as fast — and the raise halves back with each first byte that the unraised deadline would have let
   * through. True when the deadline was raised.
   */
  recordFirstByteTimeout(target: string): boolean {
    const at = this.config.get('AdaptiveTimeout');
    const h = this.targets.get(target);
    if (!h || h.ttfb.size < at.minSamples) {
      this.firstByteTimeouts.delete(target);
      return false;
    }
    const inARow = (this.firstByteTimeouts.get(target) ?? 0) + 1;
    if (inARow < RAISE_AFTER_FIRST_BYTE_TIMEOUTS) {
      this.firstByteTimeouts.set(target, inARow);
      return false;
    }
    this.firstByteTimeouts.delete(target);
    const before = this.firstByte(target).ms;
    if (before >= at.firstByte.maxMs) {
      return false;
    }
    this.firstByteRaise.set(target, (this.firstByteRaise.get(target) ?? 1) * 2);
    this.logger.warn(
      { target, timeouts: inARow, fromMs: before, toMs: this.firstByte(target).ms },
      'first-byte deadline cut every recent attempt: raised',
    );
    return true;
  }

  recordFirstByte(target: string, ms: number): void {
    this.firstByteTimeouts.delete(target);
    const h = this.history(target);
    const raise = this.firstByteRaise.get(target);
    if (
      raise !== undefined &&
      ms * this.config.get('AdaptiveTimeout').firstByte.k <= this.learnedFirstByte(h)
    ) {
      // The unraised deadline would have let this one through: the provider is back within it.
      if (raise <= 2) {
        this.firstByteRaise.delete(target);
      } else {
        this.firstByteRaise.set(target, raise / 2);
      }
    }
    h.ttfb.add(ms);
    h.live.ttfb = Math.min(h.live.ttfb + 1, h.ttfb.capacity);
    this.dirty.add(target);
  }

  /** One sample per finished stream: its longest wait for an upstream event. */
  recordIdleGap(target: string, maxGapMs: number): void {
    const h = this.history(target);
    h.gap.add(maxGapMs);
    h.live.gap = Math.min(h.live.gap + 1, h.gap.capacity);
    this.dirty.add(target);
  }

  /**
   * Seeds a target's first-byte samples from the request history (SQLite) when it offers more than the
   * target knows: they go first, this process's own samples stay the newest. Not marked dirty (they are
   * persisted there already); a later Redis restore still wins, being shared by every instance.
   */
  seedFirstByte(target: string, samples: number[]): boolean {
    if (samples.length === 0 || samples.length <= (this.targets.get(target)?.ttfb.size ?? 0)) {
      return false;
    }
    const h = this.history(target);
    h.ttfb.load([...samples, ...h.ttfb.values().slice(h.ttfb.size - h.live.ttfb)]);
    return true;
  }

  predictions(): TargetPrediction[] {
    return [...this.targets.keys()].sort().map((target) => {
      const h = this.targets.get(target) as TargetHistory;
      const first = this.firstByte(target);
      const idle = this.idle(target);
      return {
        target,
        firstByteMs: first.ms,
        firstByteSource: first.source,
        idleMs: idle.ms,
        idleSource: idle.source,
        hedgeDelayMs: this.hedgeDelayMs(target) ?? null,
        ttfb: h.ttfb.summary(),
        idleGap: h.gap.summary(),
      };
    });
  }

  /** Persists what changed since the last flush (coalesced: one flush at a time). */
  async flush(): Promise<void> {
    this.flushing ??= this.doFlush().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    await this.restore();
    const changed: HistoryRecord = {};
    for (const target of this.dirty) {
      const h = this.targets.get(target);
      if (h) {
        changed[target] = { ttfb: h.ttfb.values(), gap: h.gap.values() };
      }
    }
    this.dirty.clear();
    try {
      await this.store.save(changed, () => this.all());
    } catch (err) {
      for (const target of Object.keys(changed)) {
        this.dirty.add(target); // try again next time
      }
      this.logger.debug({ err: (err as Error).message }, 'timeout history not persisted');
    }
  }

  /** Merges the shared history from Redis once it is reachable (once per process). */
  private async restore(): Promise<void> {
    if (this.restoredFromRedis || !this.redis.available) {
      return;
    }
    try {
      const record = await this.store.loadRedis();
      if (record) {
        this.merge(record);
        this.restoredFromRedis = true;
      }
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'timeout history not restored from Redis yet');
    }
  }

  /** Persisted samples are older than this process's own: they go first and the newest are kept. */
  private merge(record: HistoryRecord): void {
    for (const [target, samples] of Object.entries(record)) {
      const h = this.history(target);
      h.ttfb.load([...samples.ttfb, ...h.ttfb.values().slice(h.ttfb.size - h.live.ttfb)]);
      h.gap.load([...samples.gap, ...h.gap.values().slice(h.gap.size - h.live.gap)]);
    }
  }

  private all(): HistoryRecord {
    const out: HistoryRecord = {};
    for (const [target, h] of this.targets) {
      out[target] = { ttfb: h.ttfb.values(), gap: h.gap.values() };
    }
    return out;
  }

  private history(target: string): TargetHistory {
    let h = this.targets.get(target);
    if (!h) {
      if (this.targets.size >= MAX_TARGETS) {
        const oldest = this.targets.keys().next().value as string;
        this.targets.delete(oldest);
        this.dirty.delete(oldest);
      }
      const size = this.config.get('AdaptiveTimeout').historySize;
      h = { ttfb: new LatencyWindow(size), gap: new LatencyWindow(size), live: { ttfb: 0, gap: 0 } };
      this.targets.set(target, h);
    }
    return h;
  }
}
