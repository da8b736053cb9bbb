import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { isDeepStrictEqual } from 'node:util';
import type { SwitchyardConfig } from '../config/config.schema';
import { AppConfigService } from '../config/config.service';
import type { ProviderConfig } from '../providers/provider.types';
import { ProviderRegistryService } from '../providers/provider-registry.service';
import { ProviderResolver } from '../providers/provider-resolver';
import type {
  UpstreamRequest,
  UpstreamResponse,
  UpstreamResponseObserver,
} from '../providers/upstream.client';
import type { GcraBucket } from './gcra';
import { GcraLimiterService } from './gcra-limiter.service';
import {
  WINDOW_NAMES,
  limitedUntil,
  parseRateLimitHeaders,
  type LimitWindow,
  type ObservedLimits,
} from './rate-limit-headers';

const MINUTE_MS = 60_000;

export type ProviderAdmission =
  | { ok: true }
  /** Skip this provider; `until` (epoch ms) is when trying it again makes sense. */
  | { ok: false; until: number; reason: 'learned' | 'rpm' | 'tpm' };

interface Limits {
  rpm: number;
  tpm: number;
}

interface Learned {
  observed?: ObservedLimits;
  observedAt: number;
  /** Epoch ms; 0 = not blocked. */
  limitedUntil: number;
}

type WindowView = { limit?: number; remaining?: number; resetAt?: string };

export interface ProviderLimitsView {
  configured: Limits | null;
  learned: ({ observedAt: string } & Partial<Record<(typeof WINDOW_NAMES)[number], WindowView>>) | null;
  /** ISO time until which the provider is skipped (learned, shared through Redis), or null. */
  limitedUntil: string | null;
}

const ADMITTED: Promise<ProviderAdmission> = Promise.resolve({ ok: true });
const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

/**
 * Per-provider RPM/TPM (`RateLimit.providers`) and the limits providers announce in their response headers
 * (`RateLimit.learnFromHeaders`). FailoverService asks `admit()` before each upstream call: a provider over
 * its configured limit, or announced as exhausted until a reset time, is skipped like a saturated one — the
 * chain moves on, and a chain with nothing left answers 503 with retry-after at once. Learned blocks are
 * shared in Redis (`ratelimit:v1:{p:<name>}:until`) so every instance skips the provider.
 */
@Injectable()
export class ProviderLimitsService implements OnModuleInit, OnApplicationShutdown, UpstreamResponseObserver {
  private enabled = false;
  private learn = false;
  private configured = new Map<string, Limits>();
  private readonly learned = new Map<string, Learned>();
  private resolver!: ProviderResolver;
  private names: string[] = [];
  private observing = false;
  private unsubscribe?: () => void;

  constructor(
    private readonly config: AppConfigService,
    private readonly limiter: GcraLimiterService,
    private readonly registry: ProviderRegistryService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('ratelimit');
    this.configure(config.all);
  }

  onModuleInit(): void {
    this.apply();
    this.unsubscribe = this.config.onChange((next, previous) => {
      if (
        !isDeepStrictEqual(next.RateLimit, previous.RateLimit) ||
        !isDeepStrictEqual(next.Providers, previous.Providers)
      ) {
        this.configure(next);
        this.apply();
      }
    });
  }

  onApplicationShutdown(): void {
    this.unsubscribe?.();
    if (this.observing) {
      this.registry.client.setObserver(undefined);
      this.observing = false;
    }
  }

  /** Limits and provider names of one configuration (a reload calls it again; what was learned stays). */
  private configure(config: SwitchyardConfig): void {
    const settings = config.RateLimit;
    const configured = new Map<string, Limits>();
    for (const [name, l] of Object.entries(settings.providers)) {
      const limits = { rpm: l.rpm ?? 0, tpm: l.tpm ?? 0 };
      if (limits.rpm > 0 || limits.tpm > 0) {
        configured.set(name, limits);
      }
    }
    const providers = config.Providers as ProviderConfig[];
    this.configured = configured;
    this.names = providers.map((p) => p.name);
    this.resolver = new ProviderResolver(providers);
    this.enabled = settings.enabled;
    this.learn = settings.enabled && settings.learnFromHeaders;
  }

  /** Warns about limits for unknown providers; installs (or removes) the header observer. */
  private apply(): void {
    if (this.enabled) {
      const unknown = [...this.configured.keys()].filter((n) => !this.names.includes(n));
      if (unknown.length > 0) {
        this.logger.warn({ providers: unknown }, 'RateLimit.providers names no configured provider');
      }
    }
    if (this.learn !== this.observing) {
      this.registry.client.setObserver(this.learn ? this : undefined);
      this.observing = this.learn;
    }
  }

  /**
   * May one more call go to `provider`, costing about `estimatedTokens`? Charges its RPM/TPM when it may.
   * Free (no Redis, no await of anything real) when rate limits are off.
   */
  admit(provider: string, estimatedTokens: number): Promise<ProviderAdmission> {
    if (!this.enabled) {
      return ADMITTED;
    }
    const now = Date.now();
    const known = this.learned.get(provider);
    if (known && known.limitedUntil > now) {
      return Promise.resolve({ ok: false, until: known.limitedUntil, reason: 'learned' });
    }
    const limits = this.configured.get(provider);
    if (!limits && !this.learn) {
      return ADMITTED;
    }
    return this.check(provider, limits, estimatedTokens);
  }

  /** UpstreamResponseObserver: learns from every upstream response's headers (only installed when learning). */
  observe(req: UpstreamRequest, statusCode: number, headers: UpstreamResponse['headers']): void {
    const now = Date.now();
    const observed = parseRateLimitHeaders(headers, now);
    if (!observed) {
      return;
    }
    const names = this.resolver.resolve(req.url, req.headers);
    if (names.length === 0) {
      return;
    }
    const until = limitedUntil(observed, statusCode, now);
    for (const name of names) {
      const st = this.learnedOf(name);
      st.observed = observed;
      st.observedAt = now;
      if (until !== undefined && until > st.limitedUntil) {
        st.limitedUntil = until;
        this.logger.info(
          { provider: name, status: statusCode, until: iso(until) },
          'provider announced its rate limit is exhausted: skipped until reset',
        );
        void this.limiter.blockUntil(this.key(name, 'until'), until);
      }
    }
  }

  /** What `/api/ratelimit` shows per provider. */
  async view(): Promise<Record<string, ProviderLimitsView>> {
    const names = [...new Set([...this.names, ...this.configured.keys(), ...this.learned.keys()])].sort();
    const shared = await Promise.all(
      names.map((n) => (this.learn ? this.limiter.blockedUntil(this.key(n, 'until')) : Promise.resolve(0))),
    );
    const now = Date.now();
    const out: Record<string, ProviderLimitsView> = {};
    names.forEach((name, i) => {
      const st = this.learned.get(name);
      const until = Math.max(shared[i], st?.limitedUntil ?? 0);
      out[name] = {
        configured: this.configured.get(name) ?? null,
        learned: st?.observed ? learnedView(st.observed, st.observedAt) : null,
        limitedUntil: until > now ? (iso(until) as string) : null,
      };
    });
    return out;
  }

  private async check(
    provider: string,
    limits: Limits | undefined,
    estimatedTokens: number,
  ): Promise<ProviderAdmission> {
    const buckets: GcraBucket[] = [];
    if (limits && limits.rpm > 0) {
      buckets.push({ key: this.key(provider, 'rpm'), limit: limits.rpm, periodMs: MINUTE_MS, cost: 1 });
    }
    if (limits && limits.tpm > 0) {
      const cost = Math.max(0, Math.ceil(estimatedTokens));
      buckets.push({ key: this.key(provider, 'tpm'), limit: limits.tpm, periodMs: MINUTE_MS, cost });
    }
    const result = await this.limiter.apply(
      buckets,
      'check',
      this.learn ? this.key(provider, 'until') : undefined,
    );
    if (result.allowed) {
      return { ok: true };
    }
    if (result.gated) {
      // Another instance learned it: remember here too, so the next calls skip without a round trip.
      const until = result.blockedUntil ?? Date.now() + result.retryAfterMs;
      const st = this.learnedOf(provider);
      st.limitedUntil = Math.max(st.limitedUntil, until);
      return { ok: false, until, reason: 'learned' };
    }
    const until = Date.now() + Math.max(1, result.retryAfterMs);
    return { ok: false, until, reason: buckets[result.limitingIndex]?.key.endsWith(':rpm') ? 'rpm' : 'tpm' };
  }

  private learnedOf(name: string): Learned {
    let st = this.learned.get(name);
    if (!st) {
      st = { observedAt: 0, limitedUntil: 0 };
      this.learned.set(name, st);
    }
    return st;
  }

  /** One hash tag per provider: a call's keys share a Redis Cluster slot (the script touches all of them). */
  private key(provider: string, what: 'rpm' | 'tpm' | 'until'): string {
    return `{p:${provider}}:${what}`;
  }
}

function learnedView(observed: ObservedLimits, at: number): ProviderLimitsView['learned'] {
  const out: NonNullable<ProviderLimitsView['learned']> = { observedAt: iso(at) as string };
  for (const name of WINDOW_NAMES) {
    const w: LimitWindow | undefined = observed[name];
    if (w) {
      out[name] = { limit: w.limit, remaining: w.remaining, resetAt: iso(w.resetAt) };
    }
  }
  return out;
}
