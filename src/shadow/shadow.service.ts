import {
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { setMaxListeners } from 'node:events';
import { PinoLogger } from 'nestjs-pino';
import { RequestOutcomeService, type RequestOutcome } from '../common/request-outcome';
import type { SwitchyardConfig } from '../config/config.schema';
import { AppConfigService } from '../config/config.service';
import { TargetStateService } from '../failover/target-state.service';
import { ALL_FEATURES_ON, isFeatureName } from '../features/feature-set';
import { GatewayService } from '../gateway/gateway.service';
import { RequestMirror, type MirroredRequest, type MirrorTap } from '../gateway/request-mirror';
import { ProviderRegistryService } from '../providers/provider-registry.service';
import { QueueService } from '../queue/queue.service';
import { AnswerDigest } from './answer-digest';
import { EventLoopLag } from './event-loop-lag';
import { QueueBacklog } from './queue-backlog';
import { diffSides, primarySide } from './shadow-compare';
import { ShadowAbort, ShadowDropError, runCopy, type CopyEnd } from './shadow-copy';
import { shadowFeatures, unknownFeatures } from './shadow-features';
import { loadDropReason, targetDropReason } from './shadow-gate';
import { ShadowMetrics } from './shadow-metrics';
import { ShadowStats } from './shadow-stats';
import type {
  ShadowAggregates,
  ShadowComparison,
  ShadowCounters,
  ShadowDropReason,
  ShadowSide,
} from './shadow.types';

type ShadowConfig = SwitchyardConfig['Shadow'];

/** One mirrored request until both sides are in. */
interface Pending {
  requestId: string;
  at: string;
  scenario?: string;
  variant: ShadowComparison['variant'];
  /** What the responder sent the client. */
  sent: AnswerDigest;
  answered: boolean;
  primary?: RequestOutcome;
  shadow?: ShadowSide;
  /** Gives up on a primary outcome that never comes. */
  timer?: NodeJS.Timeout;
}

export interface ShadowView {
  config: ShadowConfig & { unknownFeatures: string[] };
  inFlight: number;
  eventLoopLagMs: number;
  counters: ShadowCounters;
  aggregates: ShadowAggregates;
  /** Newest first. */
  recent: ShadowComparison[];
}

/**
 * Shadow runs (docs/shadow.md): a share of client requests is copied, in parallel with the primary, to a
 * trial target or feature setting; the client only ever gets the primary's answer. The copy runs through
 * the gateway as a `shadow` open (no queue, no cache write, no coalescing, no affinity or session record,
 * last in line for provider slots, never charged to the client's rate limit), bounded by `timeoutMs` and
 * aborted on shutdown, and is compared with the primary's outcome once both are in.
 */
@Injectable()
export class ShadowService implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly stats = new ShadowStats();
  private readonly pending = new Map<string, Pending>();
  private readonly lag = new EventLoopLag();
  private readonly shutdown = new AbortController();
  private inFlight = 0;
  private readonly backlog: QueueBacklog;
  private readonly detach: (() => void)[] = [];

  constructor(
    private readonly config: AppConfigService,
    private readonly gateway: GatewayService,
    private readonly mirror: RequestMirror,
    private readonly outcomes: RequestOutcomeService,
    queue: QueueService,
    private readonly targets: TargetStateService,
    private readonly providers: ProviderRegistryService,
    private readonly metrics: ShadowMetrics,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('shadow');
    setMaxListeners(0, this.shutdown.signal); // one listener per running copy, at most maxConcurrent
    this.backlog = new QueueBacklog(queue);
  }

  onModuleInit(): void {
    this.detach.push(
      this.mirror.register((request) => this.consider(request)),
      this.outcomes.subscribe((outcome) => this.onPrimary(outcome)),
    );
  }

  beforeApplicationShutdown(): void {
    this.shutdown.abort(new ShadowAbort('shutdown'));
  }

  onApplicationShutdown(): void {
    this.shutdown.abort(new ShadowAbort('shutdown'));
    this.detach.splice(0).forEach((off) => off());
    this.lag.stop();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
    }
    this.pending.clear();
  }

  view(limit?: number): ShadowView {
    const cfg = this.config.get('Shadow');
    return {
      config: { ...cfg, unknownFeatures: unknownFeatures(cfg.features) },
      inFlight: this.inFlight,
      eventLoopLagMs: Math.round(this.lag.lagMs),
      counters: this.stats.snapshot(),
      aggregates: this.stats.aggregates(),
      recent: this.stats.comparisons(limit),
    };
  }

  reset(): void {
    this.stats.reset();
  }

  /** The mirror: decides in a few checks, then starts the copy without waiting for it. */
  private consider(request: MirroredRequest): MirrorTap | undefined {
    const cfg = this.config.get('Shadow');
    if (!cfg.enabled || !(Math.random() < cfg.share)) {
      return undefined;
    }
    this.stats.sampled();
    const target = cfg.target === undefined ? undefined : this.providers.canonical(cfg.target);
    const reason = this.gate(request, cfg, target);
    if (reason) {
      this.drop(reason);
      return undefined;
    }
    const startedAt = performance.now();
    const p: Pending = {
      requestId: request.requestId,
      at: new Date().toISOString(),
      variant: {
        target,
        features: Object.fromEntries(Object.entries(cfg.features).filter(([name]) => isFeatureName(name))),
      },
      sent: new AnswerDigest(startedAt),
      answered: false,
    };
    this.pending.set(p.requestId, p);
    void this.run(p, request, cfg, target, startedAt);
    return {
      opened: () => {
        p.answered = true;
        p.sent.opened();
      },
      event: (ev) => p.sent.push(ev),
      ended: () => p.sent.end(),
    };
  }

  private gate(
    request: MirroredRequest,
    cfg: ShadowConfig,
    target: string | undefined,
  ): ShadowDropReason | undefined {
    if (this.shutdown.signal.aborted) {
      return 'shutdown';
    }
    if (cfg.target !== undefined && target === undefined) {
      return 'unknown_target';
    }
    if (this.pending.has(request.requestId)) {
      return 'duplicate_id';
    }
    // Copies done but waiting for a slow primary count too, so the map stays bounded.
    const busy = this.pending.size >= cfg.maxConcurrent * 4 ? cfg.maxConcurrent : this.inFlight;
    return (
      loadDropReason(
        { inFlight: busy, lagMs: this.lag.lagMs, interactiveWaiting: this.backlog.interactive() },
        cfg,
      ) ?? (target ? targetDropReason(this.targets.view(target)) : undefined)
    );
  }

  private async run(
    p: Pending,
    request: MirroredRequest,
    cfg: ShadowConfig,
    target: string | undefined,
    startedAt: number,
  ): Promise<void> {
    this.inFlight += 1;
    const ac = new AbortController();
    const onShutdown = (): void => ac.abort(new ShadowAbort('shutdown'));
    this.shutdown.signal.addEventListener('abort', onShutdown, { once: true });
    const timer = setTimeout(() => ac.abort(new ShadowAbort('timeout')), cfg.timeoutMs);
    const features = shadowFeatures(request.features ?? ALL_FEATURES_ON, cfg.features);
    let end: CopyEnd;
    try {
      end = await runCopy(
        (signal) =>
          this.gateway.open(request.request, {
            headers: request.headers,
            signal,
            requestId: request.requestId,
            // Read only while the copy's `cache` feature is on; never written (`shadow`).
            cachePolicy: request.cachePolicy,
            clientKey: request.clientKey,
            direct: true,
            shadow: true,
            targetOverride: target,
            features,
            onRouted: (route) => {
              p.scenario = route.scenario;
              const closed = target ? undefined : targetDropReason(this.targets.view(route.target));
              if (closed) {
                throw new ShadowDropError(closed);
              }
            },
          }),
        startedAt,
        ac.signal,
      );
    } catch (err) {
      // runCopy never throws; this only keeps a bug here from becoming an unhandled rejection.
      this.logger.warn({ err: (err as Error).message }, 'shadow copy failed unexpectedly');
      end = { kind: 'dropped', reason: 'shutdown' };
    } finally {
      clearTimeout(timer);
      this.shutdown.signal.removeEventListener('abort', onShutdown);
      this.inFlight -= 1;
    }
    if (end.kind === 'dropped') {
      this.drop(end.reason);
      this.forget(p);
      return;
    }
    this.stats.ended(end.result);
    this.metrics.ended(end.result);
    p.shadow = end.side;
    if (!this.compare(p)) {
      // The primary normally ends first; one still running this long after its copy is not waited for.
      p.timer = setTimeout(() => {
        this.stats.unmatched();
        this.forget(p);
      }, cfg.timeoutMs);
      p.timer.unref();
    }
  }

  private onPrimary(outcome: RequestOutcome): void {
    const p = this.pending.get(outcome.requestId);
    if (!p || p.primary) {
      return;
    }
    p.primary = outcome;
    p.scenario ??= outcome.scenario;
    this.compare(p);
  }

  /** Records the comparison once both sides are in; false while one is missing. */
  private compare(p: Pending): boolean {
    if (!p.primary || !p.shadow) {
      return false;
    }
    this.forget(p);
    const primary = primarySide(p.primary, p.answered ? p.sent.summary() : undefined);
    const comparison: ShadowComparison = {
      requestId: p.requestId,
      at: p.at,
      scenario: p.scenario,
      variant: p.variant,
      primary,
      shadow: p.shadow,
      diff: diffSides(primary, p.shadow),
    };
    this.stats.add(comparison, this.config.get('Shadow').keep);
    this.metrics.compared(comparison);
    return true;
  }

  private forget(p: Pending): void {
    clearTimeout(p.timer);
    if (this.pending.get(p.requestId) === p) {
      this.pending.delete(p.requestId);
    }
  }

  private drop(reason: ShadowDropReason): void {
    this.stats.dropped(reason);
    this.metrics.dropped(reason);
  }
}
