import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { RequestOutcomeService, type RequestOutcome } from '../common/request-outcome';
import { AppConfigService } from '../config/config.service';
import { memoryLimitBytes } from '../metrics/memory-limit';
import type { FeatureName } from './feature-set';
import { FeaturesService } from './features.service';
import type { GuardAction, GuardView } from './features.types';
import {
  GUARD_TRIGGERS,
  GuardWindow,
  evaluateGuard,
  sampleOf,
  type Firing,
  type GuardEvaluation,
  type GuardTrigger,
} from './guard-window';

/** Requests the window holds at most, however busy the gateway and however long `windowMs`. */
export const MAX_GUARD_SAMPLES = 50_000;
/** Guard actions `GET /api/features` shows. */
export const MAX_GUARD_ACTIONS = 50;
/** Weight of a new healthy window's p95 in the baseline (an EWMA over checks). */
const BASELINE_WEIGHT = 0.2;

const round = (v: number): number => Math.round(v * 10_000) / 10_000;

/**
 * The rollback guard (docs/features.md#the-rollback-guard): watches finished requests over a rolling window
 * and the process's memory; when a trigger fires it turns off the features it can blame, and only those.
 * With nobody to blame it says so (log line, metric, `/api/features`) and leaves everything on.
 */
@Injectable()
export class RollbackGuardService implements OnModuleInit, OnApplicationShutdown {
  private readonly window = new GuardWindow(MAX_GUARD_SAMPLES);
  private baselineP95Ms?: number;
  private timer?: NodeJS.Timeout;
  private actions: GuardAction[] = [];
  private readonly rollbackCounts = new Map<
    string,
    { feature: FeatureName; trigger: GuardTrigger; n: number }
  >();
  private readonly unattributedCounts = new Map<GuardTrigger, number>();
  /** Triggers firing with nobody to blame that were already reported (once per episode, not per check). */
  private readonly reported = new Set<GuardTrigger>();
  private readMemory: () => number = () => process.memoryUsage.rss();
  private limit: ReturnType<typeof memoryLimitBytes>;
  private unsubscribe: (() => void)[] = [];

  constructor(
    private readonly config: AppConfigService,
    private readonly outcomes: RequestOutcomeService,
    private readonly features: FeaturesService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('feature-guard');
    this.limit = memoryLimitBytes(config.get('Metrics').memoryLimitBytes);
  }

  onModuleInit(): void {
    this.unsubscribe.push(this.outcomes.subscribe((o) => this.record(o)));
    this.unsubscribe.push(
      this.config.onChange((next, previous) => {
        if (next.Metrics.memoryLimitBytes !== previous.Metrics.memoryLimitBytes) {
          this.limit = memoryLimitBytes(next.Metrics.memoryLimitBytes);
        }
        const g = next.Features.guard;
        const p = previous.Features.guard;
        if (g.enabled !== p.enabled || g.checkIntervalMs !== p.checkIntervalMs) {
          this.schedule();
        }
      }),
    );
    this.schedule();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const off of this.unsubscribe.splice(0)) {
      off();
    }
  }

  record(outcome: RequestOutcome, now = Date.now()): void {
    this.window.add(sampleOf(outcome, now));
  }

  /** Replaces the RSS reader (tests). */
  useMemoryReader(read: () => number): void {
    this.readMemory = read;
  }

  /** Judges the window now and acts on it (the timer calls this every `checkIntervalMs`). */
  check(now = Date.now()): GuardEvaluation {
    const evaluation = this.evaluate(now, this.readMemory());
    if (evaluation.healthyP95Ms !== undefined) {
      this.baselineP95Ms =
        this.baselineP95Ms === undefined
          ? evaluation.healthyP95Ms
          : this.baselineP95Ms * (1 - BASELINE_WEIGHT) + evaluation.healthyP95Ms * BASELINE_WEIGHT;
    }
    const trippedNow = new Set<FeatureName>();
    for (const firing of evaluation.firing) {
      const fresh = firing.implicated.filter((i) => !trippedNow.has(i.feature));
      if (firing.implicated.length === 0) {
        this.unattributed(firing, now);
        continue;
      }
      this.reported.delete(firing.trigger);
      if (fresh.length > 0) {
        this.rollBack({ ...firing, implicated: fresh }, now, trippedNow);
      }
    }
    for (const trigger of GUARD_TRIGGERS) {
      if (!evaluation.firing.some((f) => f.trigger === trigger)) {
        this.reported.delete(trigger);
      }
    }
    if (trippedNow.size > 0) {
      // The traffic mix just changed: what the window holds no longer says anything about what runs now.
      this.window.clear();
    }
    return evaluation;
  }

  view(now = Date.now()): GuardView {
    const g = this.config.get('Features').guard;
    const rssBytes = this.readMemory();
    const e = this.evaluate(now, rssBytes);
    return {
      enabled: g.enabled,
      windowMs: g.windowMs,
      checkIntervalMs: g.checkIntervalMs,
      window: {
        ...e.stats,
        errorRate: e.stats.errorRate === null ? null : round(e.stats.errorRate),
        cacheHitRate: e.stats.cacheHitRate === null ? null : round(e.stats.cacheHitRate),
        baselineP95Ms: this.baselineP95Ms === undefined ? null : Math.round(this.baselineP95Ms),
        memory: {
          rssBytes,
          limitBytes: this.limit.bytes,
          limitSource: this.limit.source,
          ratio: round(e.memoryRatio),
        },
      },
      firing: e.firing.map((f) => f.trigger),
      actions: [...this.actions],
    };
  }

  /** Rollbacks by feature and trigger since start (Prometheus). */
  rollbacks(): { feature: FeatureName; trigger: GuardTrigger; n: number }[] {
    return [...this.rollbackCounts.values()];
  }

  /** Trigger episodes with no feature to blame, by trigger, since start (Prometheus). */
  unattributedEpisodes(): [GuardTrigger, number][] {
    return [...this.unattributedCounts];
  }

  private evaluate(now: number, rssBytes: number): GuardEvaluation {
    const g = this.config.get('Features').guard;
    this.window.prune(now, g.windowMs);
    return evaluateGuard({
      samples: this.window.samples(),
      settings: g,
      baselineP95Ms: this.baselineP95Ms,
      memory: { rssBytes, limitBytes: this.limit.bytes },
      flags: this.features.facts(),
      now,
    });
  }

  private rollBack(firing: Firing, now: number, trippedNow: Set<FeatureName>): void {
    const trip = { trigger: firing.trigger, value: firing.value, threshold: firing.threshold, at: now };
    const done: Firing['implicated'] = [];
    for (const { feature, why } of firing.implicated) {
      if (!this.features.trip(feature, trip, 'guard')) {
        continue;
      }
      trippedNow.add(feature);
      done.push({ feature, why });
      const key = `${feature}|${firing.trigger}`;
      const count = this.rollbackCounts.get(key) ?? { feature, trigger: firing.trigger, n: 0 };
      count.n += 1;
      this.rollbackCounts.set(key, count);
      this.logger.warn(
        { feature, trigger: firing.trigger, value: firing.value, threshold: firing.threshold, why },
        'feature rolled back by the guard',
      );
    }
    if (done.length > 0) {
      this.addAction({ ...firing, implicated: done }, 'rolled_back', now);
    }
  }

  private unattributed(firing: Firing, now: number): void {
    if (this.reported.has(firing.trigger)) {
      return;
    }
    this.reported.add(firing.trigger);
    this.unattributedCounts.set(firing.trigger, (this.unattributedCounts.get(firing.trigger) ?? 0) + 1);
    this.logger.warn(
      { trigger: firing.trigger, value: firing.value, threshold: firing.threshold },
      'guard trigger fired, no feature implicated: nothing turned off',
    );
    this.addAction(firing, 'none_implicated', now);
  }

  private addAction(firing: Firing, action: GuardAction['action'], now: number): void {
    this.actions.unshift({
      at: new Date(now).toISOString(),
      trigger: firing.trigger,
      value: round(firing.value),
      threshold: round(firing.threshold),
      action,
      features: firing.implicated,
    });
    if (this.actions.length > MAX_GUARD_ACTIONS) {
      this.actions.length = MAX_GUARD_ACTIONS;
    }
  }

  private schedule(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    const g = this.config.get('Features').guard;
    if (!g.enabled) {
      return;
    }
    this.timer = setInterval(() => {
      try {
        this.check();
      } catch (err) {
        this.logger.error({ err }, 'feature guard check failed');
      }
    }, g.checkIntervalMs);
    this.timer.unref();
  }
}
