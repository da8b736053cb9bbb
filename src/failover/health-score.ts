import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { isDeepStrictEqual } from 'node:util';
import { PinoLogger } from 'nestjs-pino';
import { staleTargets } from '../config/config-diff';
import type { SwitchyardConfig } from '../config/config.schema';
import { AppConfigService } from '../config/config.service';
import { ProviderRegistryService } from '../providers/provider-registry.service';
import { LatencyWindow, type Percentiles } from '../timeout/latency-window';
import { EwmaStats, type Outcome, type StatsView } from './ewma-stats';
import { TargetStateService } from './target-state.service';

export interface KeyStatus {
  at: number;
  status: number;
  message: string;
}

export interface TargetHealth {
  target: string;
  origin: string | null;
  score: number;
  healthy: boolean;
  stats: StatsView;
  originStats: StatsView | null;
  ttfb: Percentiles;
  keyBad: KeyStatus | null;
}

/** A fallback moves ahead of the one before it only when its score is this much better (no flapping). */
const HYSTERESIS = 0.1;
/** The routed target keeps its place unless a fallback beats it by this much (or it is open/cooling). */
const HEAD_MARGIN = 0.5;
/** Below this a target counts as unhealthy for readiness. */
const HEALTHY_FLOOR = 0.25;
const TTFB_RESERVOIR = 512;
const MAX_KEYS = 1_000;
const MAX_REMEMBERED_ORDERS = 500;

/**
 * Health per target ("provider,model") and per origin, fed by every attempt (passive) and by the provider
 * health indicators (active probes). A target's score is the lower of its own EWMA score and its origin's,
 * times its circuit (open or cooling = 0, half-open = 0.5). `orderChain` uses it to order chains.
 */
@Injectable()
export class HealthScoreService implements OnModuleInit, OnModuleDestroy {
  private readonly targets = new Map<string, EwmaStats>();
  private readonly origins = new Map<string, EwmaStats>();
  private readonly ttfb = new Map<string, LatencyWindow>();
  private readonly keys = new Map<string, KeyStatus>();
  private readonly orders = new Map<string, string[]>();
  private readonly originOf = new Map<string, string | null>();
  private unsubscribe?: () => void;

  constructor(
    private readonly providers: ProviderRegistryService,
    private readonly state: TargetStateService,
    private readonly logger: PinoLogger,
    private readonly config: AppConfigService,
  ) {
    this.logger.setContext('failover');
  }

  onModuleInit(): void {
    this.unsubscribe = this.config.onChange((next, previous) => this.providersChanged(next, previous));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  /**
   * A reload that changes a provider's endpoint or credentials starts its targets over: the old scores,
   * circuits and "key rejected" flag were about the old upstream. Origins are looked up again. A removed
   * provider or model is dropped the same way, so `/api/providers` stops listing it.
   */
  private providersChanged(next: SwitchyardConfig, previous: SwitchyardConfig): void {
    if (isDeepStrictEqual(next.Providers, previous.Providers)) {
      return;
    }
    this.originOf.clear();
    // Targets the breakers know but no attempt scored yet (viewed by /api/providers or readiness) count too.
    const stale = staleTargets(previous, next, new Set([...this.targets.keys(), ...this.state.known()]));
    for (const name of stale.providers) {
      this.keys.delete(name);
    }
    for (const t of stale.targets) {
      this.targets.delete(t);
      this.ttfb.delete(t);
    }
    if (stale.targets.length > 0) {
      this.state.forget(stale.targets);
    }
  }

  /** A live attempt's outcome (target and its origin). */
  recordAttempt(target: string, outcome: Outcome, now = Date.now()): void {
    this.get(this.targets, target).record(outcome, now);
    const origin = this.origin(target);
    if (origin) {
      this.get(this.origins, origin).record(outcome, now);
    }
    if (outcome.ttfbMs !== undefined) {
      this.window(target).add(outcome.ttfbMs);
    }
  }

  /** An active probe: the provider's origin, and the probed target when the probe was a real request. */
  recordProbe(provider: string, outcome: Outcome, target?: string, now = Date.now()): void {
    const origin = this.providerOrigin(provider);
    if (origin) {
      this.get(this.origins, origin).record(outcome, now);
    }
    if (target) {
      this.get(this.targets, target).record(outcome, now);
    }
  }

  /** 401/403 from a provider: logged at error once per episode, shown in /api/providers. */
  markKeyBad(provider: string, status: number, message: string, now = Date.now()): void {
    const name = provider.toLowerCase();
    if (!this.keys.has(name)) {
      this.logger.error(
        { provider, status, upstream: message.slice(0, 300) },
        'provider rejected its API key',
      );
    }
    this.touch(this.keys, name, { at: now, status, message: message.slice(0, 500) });
  }

  clearKeyBad(provider: string): void {
    if (this.keys.delete(provider.toLowerCase())) {
      this.logger.info({ provider }, 'provider accepts its API key again');
    }
  }

  keyStatus(provider: string): KeyStatus | undefined {
    return this.keys.get(provider.toLowerCase());
  }

  score(target: string, now = Date.now()): number {
    const circuit = this.state.view(target, now);
    if (circuit.state === 'open' || circuit.cooldownUntil !== null) {
      return 0;
    }
    const origin = this.origin(target);
    const own = this.targets.get(target)?.score(now) ?? 1;
    // The weaker of the two: a dead origin sinks all its models, a bad model does not sink its siblings.
    const shared = origin ? (this.origins.get(origin)?.score(now) ?? 1) : 1;
    return Math.min(own, shared) * (circuit.state === 'half_open' ? 0.5 : 1);
  }

  /** Readiness view: a usable score and a key the provider accepts. */
  healthy(target: string, now = Date.now()): boolean {
    return this.score(target, now) >= HEALTHY_FLOOR && !this.keyStatus(providerOf(target));
  }

  /**
   * Orders a chain by health. The routed head stays first unless it is blocked (open, cooling) or far
   * below the best fallback — and always while half-open, to carry the breaker's probe; fallbacks swap only when one beats its predecessor by HYSTERESIS, starting from the order
   * chosen last time for the same chain, so scores that wobble around each other do not flip traffic.
   */
  orderChain(chain: string[], now = Date.now()): string[] {
    if (chain.length <= 1) {
      return [...chain];
    }
    const key = chain.join('|');
    const scores = new Map(chain.map((t) => [t, this.score(t, now)]));
    const s = (t: string): number => scores.get(t) ?? 0;
    const head = chain[0];
    const previous = this.orders.get(key) ?? chain;
    const rest = settle(
      previous.filter((t) => t !== head),
      s,
    );
    const demotedBefore = previous[0] !== head;
    const margin = demotedBefore ? HEAD_MARGIN / 2 : HEAD_MARGIN;
    // Half-open: the routed target goes first so the breaker gets its one probe (else it never recovers).
    const probing = this.state.view(head, now).state === 'half_open';
    const demote = !probing && (s(head) === 0 || s(head) + margin < s(rest[0]));
    const order = demote ? settle([...rest, head], s) : [head, ...rest];
    if (order[0] !== head && !demotedBefore) {
      this.logger.info(
        { head, now: order[0], headScore: round(s(head)), bestScore: round(s(order[0])) },
        'routed target demoted by health',
      );
    }
    this.orders.delete(key);
    this.touch(this.orders, key, order, MAX_REMEMBERED_ORDERS);
    return [...order]; // callers consume their copy (shift); the remembered order stays intact
  }

  view(target: string, now = Date.now()): TargetHealth {
    const origin = this.origin(target);
    return {
      target,
      origin,
      score: round(this.score(target, now)),
      healthy: this.healthy(target, now),
      stats: (this.targets.get(target) ?? new EwmaStats()).view(now),
      originStats: origin ? (this.origins.get(origin) ?? new EwmaStats()).view(now) : null,
      ttfb: this.window(target).summary(),
      keyBad: this.keyStatus(providerOf(target)) ?? null,
    };
  }

  known(): string[] {
    return [...this.targets.keys()];
  }

  private origin(target: string): string | null {
    let origin = this.originOf.get(target);
    if (origin === undefined) {
      const url = this.providers.target(target)?.provider.api_base_url;
      origin = url ? new URL(url).origin : null;
      this.touch(this.originOf, target, origin);
    }
    return origin;
  }

  private providerOrigin(provider: string): string | null {
    const wanted = provider.toLowerCase();
    const first = this.providers.list().find((t) => t.provider.toLowerCase() === wanted);
    return first ? this.origin(`${first.provider},${first.model}`) : null;
  }

  private window(target: string): LatencyWindow {
    let w = this.ttfb.get(target);
    if (!w) {
      w = new LatencyWindow(TTFB_RESERVOIR);
      this.touch(this.ttfb, target, w);
    }
    return w;
  }

  private get(map: Map<string, EwmaStats>, key: string): EwmaStats {
    let stats = map.get(key);
    if (!stats) {
      stats = new EwmaStats();
      this.touch(map, key, stats);
    }
    return stats;
  }

  private touch<V>(map: Map<string, V>, key: string, value: V, cap = MAX_KEYS): void {
    if (!map.has(key) && map.size >= cap) {
      map.delete(map.keys().next().value as string);
    }
    map.set(key, value);
  }
}

/** Adjacent swaps only when the later one is better by HYSTERESIS (terminates: each swap gains > HYSTERESIS). */
function settle(order: string[], s: (t: string) => number): string[] {
  const out = [...order];
  for (let swapped = true; swapped;) {
    swapped = false;
    for (let i = 1; i < out.length; i++) {
      if (s(out[i]) > s(out[i - 1]) + HYSTERESIS) {
        [out[i - 1], out[i]] = [out[i], out[i - 1]];
        swapped = true;
      }
    }
  }
  return out;
}

const providerOf = (target: string): string => target.slice(0, Math.max(0, target.indexOf(',')));
const round = (v: number): number => Math.round(v * 1000) / 1000;
