import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { PinoLogger } from 'nestjs-pino';
import type { SwitchyardConfig } from '../config/config.schema';
import { AppConfigService } from '../config/config.service';
import type { GcraBucket } from './gcra';
import { GcraLimiterService } from './gcra-limiter.service';

const MINUTE_MS = 60_000;
const SHA256_ENTRY = /^sha256:([0-9a-f]{64})$/i;

export interface ClientLimits {
  rpm: number;
  tpm: number;
}

/** Who is being limited: a bucket name (a key digest or an IP, never the key) and that client's limits. */
export interface ClientIdentity {
  bucket: string;
  limits: ClientLimits;
}

export interface ClientVerdict {
  allowed: boolean;
  /** When denied: ms until the request would be admitted. */
  retryAfterMs: number;
  /** When denied: which limit refused it. */
  limitedBy?: 'requests' | 'tokens';
  remainingRequests?: number;
  remainingTokens?: number;
  /** Tokens charged up front (what the answer's usage is settled against). */
  chargedTokens: number;
}

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

/** The client limits of one configuration (rebuilt whole by a reload). */
interface ClientSettings {
  enabled: boolean;
  defaults: ClientLimits;
  perKey: Map<string, ClientLimits>;
  maxTokensEstimate: number;
}

function clientSettings(settings: SwitchyardConfig['RateLimit']): ClientSettings {
  const defaults = { rpm: settings.client.rpm, tpm: settings.client.tpm };
  const perKey = new Map<string, ClientLimits>();
  for (const [entry, limits] of Object.entries(settings.keys)) {
    const digest = SHA256_ENTRY.exec(entry)?.[1]?.toLowerCase() ?? sha256(entry);
    perKey.set(digest, { rpm: limits.rpm ?? defaults.rpm, tpm: limits.tpm ?? defaults.tpm });
  }
  return { enabled: settings.enabled, defaults, perKey, maxTokensEstimate: settings.maxTokensEstimate };
}

/**
 * Client RPM/TPM (`RateLimit.client`, overridden per key by `RateLimit.keys`). A client is the key it
 * presents — only its SHA-256 is used, in Redis keys too — or its IP address when it presents none.
 */
@Injectable()
export class RateLimitService implements OnModuleInit, OnModuleDestroy {
  private limits: ClientSettings;
  private readonly refused = { requests: 0, tokens: 0 };
  private unsubscribe?: () => void;

  constructor(
    private readonly config: AppConfigService,
    private readonly limiter: GcraLimiterService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('ratelimit');
    this.limits = clientSettings(config.get('RateLimit'));
  }

  /** A reload swaps the limits at once; a request already admitted keeps the identity (and limits) it got. */
  onModuleInit(): void {
    this.unsubscribe = this.config.onChange((next) => {
      this.limits = clientSettings(next.RateLimit);
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  get maxTokensEstimate(): number {
    return this.limits.maxTokensEstimate;
  }

  /** False when no client can ever be limited (the guard then costs nothing). */
  get active(): boolean {
    const { enabled, defaults, perKey } = this.limits;
    return enabled && (defaults.rpm > 0 || defaults.tpm > 0 || perKey.size > 0);
  }

  identify(key: string | undefined, ip: string): ClientIdentity {
    const { defaults, perKey } = this.limits;
    if (key === undefined) {
      return { bucket: `ip:${ip}`, limits: defaults };
    }
    const digest = sha256(key);
    return { bucket: `k:${digest.slice(0, 32)}`, limits: perKey.get(digest) ?? defaults };
  }

  /** Charges one request and `estimatedTokens` tokens, all or nothing. */
  async admit(who: ClientIdentity, estimatedTokens: number): Promise<ClientVerdict> {
    const buckets: GcraBucket[] = [];
    const { rpm, tpm } = who.limits;
    if (rpm > 0) {
      buckets.push({ key: this.key(who, 'rpm'), limit: rpm, periodMs: MINUTE_MS, cost: 1 });
    }
    if (tpm > 0) {
      const cost = Math.max(0, Math.ceil(estimatedTokens));
      buckets.push({ key: this.key(who, 'tpm'), limit: tpm, periodMs: MINUTE_MS, cost });
    }
    const result = await this.limiter.apply(buckets, 'check');
    const at = (suffix: string): number => buckets.findIndex((b) => b.key.endsWith(suffix));
    const r = at(':rpm');
    const t = at(':tpm');
    if (!result.allowed) {
      this.refused[result.limitingIndex === r ? 'requests' : 'tokens']++;
    }
    return {
      allowed: result.allowed,
      retryAfterMs: result.retryAfterMs,
      limitedBy: result.allowed ? undefined : result.limitingIndex === r ? 'requests' : 'tokens',
      remainingRequests: r >= 0 ? result.remaining[r] : undefined,
      remainingTokens: t >= 0 ? result.remaining[t] : undefined,
      chargedTokens: t >= 0 ? (result.applied[t] ?? 0) : 0,
    };
  }

  /**
   * Settles the token estimate against what the answer really used: a positive difference is charged (the
   * client may go into debt for at most one more minute), a negative one credited back.
   */
  async settle(who: ClientIdentity, deltaTokens: number): Promise<void> {
    const delta = Math.round(deltaTokens);
    if (who.limits.tpm <= 0 || delta === 0) {
      return;
    }
    await this.limiter.apply(
      [{ key: this.key(who, 'tpm'), limit: who.limits.tpm, periodMs: MINUTE_MS, cost: delta }],
      'adjust',
    );
  }

  /** Requests refused so far, by the limit that refused them (Prometheus). */
  rejections(): { requests: number; tokens: number } {
    return { ...this.refused };
  }

  /** What `/api/ratelimit` shows about client limits (never a key or a digest). */
  view(): { rpm: number; tpm: number; keyOverrides: number; maxTokensEstimate: number } {
    const { defaults, perKey, maxTokensEstimate } = this.limits;
    return { ...defaults, keyOverrides: perKey.size, maxTokensEstimate };
  }

  private key(who: ClientIdentity, what: 'rpm' | 'tpm'): string {
    // One hash tag per client: its buckets share a Redis Cluster slot (the script touches both).
    return `{c:${who.bucket}}:${what}`;
  }
}
