import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { isDeepStrictEqual } from 'node:util';
import { PinoLogger } from 'nestjs-pino';
import type { SwitchyardConfig } from '../config/config.schema';
import { configSecrets, scrubSecrets } from '../config/config-redaction';
import { AppConfigService } from '../config/config.service';
import { HealthScoreService } from '../failover/health-score';
import type { ProviderConfig, Target } from '../providers/provider.types';
import { ProviderRegistryService } from '../providers/provider-registry.service';
import {
  probeModels,
  probeRequest,
  probeSettings,
  type ProbeResult,
  type ProbeSettings,
} from './provider-probe';

export interface SlotHealth {
  healthy: string[];
  unhealthy: string[];
}

/**
 * Active provider checks (terminus indicator). Each provider is probed on its own interval — its models
 * endpoint, or a max_tokens:1 request through its adapter — and every result feeds the same health
 * scores live traffic feeds. The first probe waits one interval: until then traffic is the only evidence
 * and targets count as healthy. Readiness: the `default` Router slot has a healthy target.
 */
@Injectable()
export class ProviderHealthIndicator implements OnModuleInit, OnApplicationShutdown {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<ProbeResult>>();
  private readonly last = new Map<string, ProbeResult & { at: string }>();
  private readonly settings = new Map<string, ProbeSettings>();
  private stopped = false;
  private deferred: () => boolean = () => false;
  private unsubscribe?: () => void;

  constructor(
    private readonly health: HealthIndicatorService,
    private readonly providers: ProviderRegistryService,
    private readonly scores: HealthScoreService,
    private readonly config: AppConfigService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('provider-health');
  }

  onModuleInit(): void {
    const defaults = this.config.get('Failover').health;
    for (const provider of this.configured()) {
      const s = probeSettings(provider, defaults); // throws with the key path: a bad block stops the boot
      this.settings.set(provider.name, s);
      if (s.enabled) {
        this.schedule(provider.name, jittered(s.intervalMs));
      }
    }
    this.unsubscribe = this.config.onChange((next, previous) => this.replan(next, previous));
  }

  onApplicationShutdown(): void {
    this.unsubscribe?.();
    this.stopped = true;
    for (const t of this.timers.values()) {
      clearTimeout(t);
    }
    this.timers.clear();
  }

  /** Probes one provider now (concurrent calls share the probe in flight). */
  probe(name: string): Promise<ProbeResult> {
    const inFlight = this.running.get(name);
    if (inFlight) {
      return inFlight;
    }
    const p = this.runProbe(name).finally(() => this.running.delete(name));
    this.running.set(name, p);
    return p;
  }

  async probeAll(): Promise<Record<string, ProbeResult>> {
    const names = this.configured().map((p) => p.name);
    const results = await Promise.all(names.map((n) => this.probe(n)));
    return Object.fromEntries(names.map((n, i) => [n, results[i]]));
  }

  /** Router slot → its targets (slot list, `fallback.<slot>`), as configured spellings. */
  slots(): Record<string, string[]> {
    const router = this.config.get('Router') as Record<string, unknown>;
    const fallback = this.config.get('fallback') ?? {};
    const out: Record<string, string[]> = {};
    for (const [slot, value] of Object.entries(router)) {
      const listed =
        typeof value === 'string'
          ? [value]
          : Array.isArray(value)
            ? (value as unknown[]).filter((v): v is string => typeof v === 'string')
            : [];
      if (listed.length === 0) {
        continue;
      }
      const all = [...listed, ...(fallback[slot] ?? [])]
        .map((t) => this.providers.canonical(t))
        .filter((t): t is string => !!t);
      out[slot] = [...new Set(all)];
    }
    return out;
  }

  /**
   * Down only while the `default` slot has no healthy target: every request may then fail. Circuit states
   * are shared across instances, so failing readiness for a rarely used slot (image, webSearch) would take
   * every instance out of its load balancer at once, also for the traffic that works; such slots are listed
   * as `degradedSlots` instead (their requests get the gateway's own 503 with `retry-after`).
   */
  check(key = 'providers'): HealthIndicatorResult {
    const indicator = this.health.check(key);
    const slots: Record<string, SlotHealth> = {};
    const degradedSlots: string[] = [];
    let defaultDown = false;
    for (const [slot, targets] of Object.entries(this.slots())) {
      const healthy = targets.filter((t) => this.scores.healthy(t));
      slots[slot] = { healthy, unhealthy: targets.filter((t) => !healthy.includes(t)) };
      if (healthy.length > 0) {
        continue;
      }
      if (slot === 'default') {
        defaultDown = true;
      } else {
        degradedSlots.push(slot);
      }
    }
    const details = {
      slots,
      probes: Object.fromEntries(this.last),
      ...(degradedSlots.length > 0 ? { degradedSlots } : {}),
    };
    return defaultDown
      ? indicator.down({ ...details, slotsWithoutHealthyTarget: ['default'] })
      : indicator.up(details);
  }

  private async runProbe(name: string): Promise<ProbeResult> {
    const provider = this.configured().find((p) => p.name === name);
    const s =
      this.settings.get(name) ?? (provider && probeSettings(provider, this.config.get('Failover').health));
    if (!provider || !s) {
      return { ok: false, ms: 0, error: `provider ${name} is not configured` };
    }
    const target: Target = { provider, model: s.model ?? provider.models[0] };
    const kind = this.providers.kindOf(target);
    const result =
      s.mode === 'request'
        ? await probeRequest(this.providers.adapterFor(target), provider, s)
        : await probeModels(this.providers.client, provider, kind, s);
    // A reload that removed or changed the provider while the probe ran: the result is about the old one.
    if (
      !isDeepStrictEqual(
        this.configured().find((p) => p.name === name),
        provider,
      )
    ) {
      return result;
    }
    this.apply(name, result);
    if (!result.ok) {
      this.logger.warn(
        { provider: name, mode: s.mode, status: result.status, error: result.error, ms: result.ms },
        'provider probe failed',
      );
    }
    return result;
  }

  /**
   * While `active()` holds, the per-instance timers stand aside: probes run once per cluster as a scheduled
   * job and every instance learns the results through `applyRemote`. When it stops holding (Redis down),
   * the local timers take over again.
   */
  deferTo(active: () => boolean): void {
    this.deferred = active;
  }

  /** Results of a probe run by another instance (the cluster-scheduled job). */
  applyRemote(results: Record<string, ProbeResult>): void {
    for (const [name, result] of Object.entries(results)) {
      if (this.settings.has(name)) {
        this.apply(name, result);
      }
    }
  }

  private apply(name: string, result: ProbeResult): void {
    // /health/ready is public: an upstream error that echoes a credential must not reach it.
    this.last.set(
      name,
      scrubSecrets({ ...result, at: new Date().toISOString() }, configSecrets(this.config.all)),
    );
    this.scores.recordProbe(
      name,
      {
        ok: result.ok,
        source: 'probe',
        status: result.status,
        error: result.error,
        ttfbMs: result.target ? result.ms : undefined,
      },
      result.target,
    );
    if (result.status === 401 || result.status === 403) {
      this.scores.markKeyBad(name, result.status, result.error ?? 'key rejected');
    }
  }

  /**
   * A reload: probes start for added providers, stop for removed (or disabled) ones, and restart with new
   * settings for changed ones; a changed provider's last result is dropped (it was about the old upstream).
   */
  private replan(next: SwitchyardConfig, previous: SwitchyardConfig): void {
    if (
      isDeepStrictEqual(next.Providers, previous.Providers) &&
      isDeepStrictEqual(next.Failover.health, previous.Failover.health)
    ) {
      return;
    }
    const before = new Map(previous.Providers.map((p) => [p.name, p]));
    const wanted = new Map<string, ProbeSettings>();
    for (const provider of firstByName(next.Providers as ProviderConfig[])) {
      try {
        wanted.set(provider.name, probeSettings(provider, next.Failover.health));
      } catch (err) {
        this.logger.warn(
          { provider: provider.name, err: (err as Error).message },
          'provider probe settings invalid',
        );
      }
      if (!isDeepStrictEqual(before.get(provider.name), provider)) {
        this.last.delete(provider.name);
      }
    }
    for (const name of [...this.settings.keys()]) {
      if (!wanted.has(name)) {
        this.unschedule(name);
        this.settings.delete(name);
        this.last.delete(name);
      }
    }
    for (const [name, s] of wanted) {
      const old = this.settings.get(name);
      this.settings.set(name, s);
      if (!s.enabled) {
        this.unschedule(name);
      } else if (!old?.enabled || old.intervalMs !== s.intervalMs || !this.timers.has(name)) {
        this.unschedule(name);
        this.schedule(name, jittered(s.intervalMs));
      }
    }
  }

  private unschedule(name: string): void {
    clearTimeout(this.timers.get(name));
    this.timers.delete(name);
  }

  private schedule(name: string, delayMs: number): void {
    if (this.stopped) {
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(name);
      if (this.deferred()) {
        this.reschedule(name);
        return;
      }
      void this.probe(name)
        .catch((err: unknown) =>
          this.logger.warn({ provider: name, err: (err as Error).message }, 'provider probe crashed'),
        )
        .finally(() => this.reschedule(name));
    }, delayMs);
    timer.unref();
    this.timers.set(name, timer);
  }

  /** The next probe, unless a reload removed or disabled the provider (or already scheduled it anew). */
  private reschedule(name: string): void {
    const s = this.settings.get(name);
    if (s?.enabled && !this.timers.has(name)) {
      this.schedule(name, s.intervalMs);
    }
  }

  private configured(): ProviderConfig[] {
    const seen = new Map<string, ProviderConfig>();
    for (const t of this.providers.list()) {
      const target = this.providers.target(`${t.provider},${t.model}`);
      if (target && !seen.has(target.provider.name)) {
        seen.set(target.provider.name, target.provider);
      }
    }
    return [...seen.values()];
  }
}

/** Jitter: providers configured together are not all probed at the same instant. */
function jittered(intervalMs: number): number {
  return intervalMs * (1 + Math.random() * 0.1);
}

/** The first definition of each name wins, as in the provider registry. */
function firstByName(providers: ProviderConfig[]): ProviderConfig[] {
  const seen = new Map<string, ProviderConfig>();
  for (const p of providers) {
    if (!seen.has(p.name.toLowerCase())) {
      seen.set(p.name.toLowerCase(), p);
    }
  }
  return [...seen.values()];
}
