/** One observation of a target or origin: live traffic (passive) or an active probe. */
export interface Outcome {
  ok: boolean;
  source: 'traffic' | 'probe';
  ttfbMs?: number;
  durationMs?: number;
  status?: number;
  error?: string;
}

export interface StatsView {
  successRate: number;
  ttfbMs: number | null;
  durationMs: number | null;
  rate429: number;
  samples: number;
  probes: number;
  updatedAt: number | null;
  lastError: { at: number; message: string; status?: number; source: Outcome['source'] } | null;
  lastOkAt: number | null;
}

/** Weight of the newest observation: ~10 observations dominate, so one blip moves a score but does not flip it. */
const ALPHA = 0.2;
/** With no news a bad score heals halfway to healthy in this time (ordering last must not mean forever). */
const RECOVERY_HALF_LIFE_MS = 120_000;
/** TTFB at which the latency factor is halfway down. */
const LATENCY_REF_MS = 10_000;
/** Latency can cost at most this share of the score: failing matters more than being slow. */
const LATENCY_WEIGHT = 0.3;

const ewma = (prev: number | null, value: number): number =>
  prev === null ? value : prev + ALPHA * (value - prev);

/**
 * EWMA health of one target or origin: success rate, TTFB, duration and the recent share of 429s, folded
 * into one score in [0, 1]. Pure and clock-injected.
 */
export class EwmaStats {
  private success = 1;
  private ttfb: number | null = null;
  private duration: number | null = null;
  private rate429 = 0;
  private samples = 0;
  private probes = 0;
  private updatedAt: number | null = null;
  private lastError: StatsView['lastError'] = null;
  private lastOkAt: number | null = null;

  record(o: Outcome, now: number): void {
    // Decay first so an old failure streak does not weigh as if it were recent.
    this.success = this.healed(this.success, 1, now);
    this.rate429 = this.healed(this.rate429, 0, now);
    this.success = ewma(this.success, o.ok ? 1 : 0);
    this.rate429 = ewma(this.rate429, o.status === 429 ? 1 : 0);
    if (o.ttfbMs !== undefined) {
      this.ttfb = ewma(this.ttfb, o.ttfbMs);
    }
    if (o.durationMs !== undefined) {
      this.duration = ewma(this.duration, o.durationMs);
    }
    this.samples += 1;
    this.probes += o.source === 'probe' ? 1 : 0;
    this.updatedAt = now;
    if (o.ok) {
      this.lastOkAt = now;
    } else {
      this.lastError = {
        at: now,
        message: (o.error ?? 'failed').slice(0, 500),
        status: o.status,
        source: o.source,
      };
    }
  }

  score(now: number): number {
    const success = this.healed(this.success, 1, now);
    const rate429 = this.healed(this.rate429, 0, now);
    const latency = this.ttfb === null ? 1 : 1 / (1 + this.ttfb / LATENCY_REF_MS);
    const value = success * (1 - 0.5 * rate429) * (1 - LATENCY_WEIGHT + LATENCY_WEIGHT * latency);
    return Math.min(1, Math.max(0, value));
  }

  view(now: number): StatsView {
    return {
      successRate: round(this.healed(this.success, 1, now)),
      ttfbMs: this.ttfb === null ? null : Math.round(this.ttfb),
      durationMs: this.duration === null ? null : Math.round(this.duration),
      rate429: round(this.healed(this.rate429, 0, now)),
      samples: this.samples,
      probes: this.probes,
      updatedAt: this.updatedAt,
      lastError: this.lastError,
      lastOkAt: this.lastOkAt,
    };
  }

  /** Moves `value` toward `rest` by the time elapsed since the last observation. */
  private healed(value: number, rest: number, now: number): number {
    if (this.updatedAt === null) {
      return value;
    }
    const keep = 0.5 ** (Math.max(0, now - this.updatedAt) / RECOVERY_HALF_LIFE_MS);
    return rest + (value - rest) * keep;
  }
}

const round = (v: number): number => Math.round(v * 1000) / 1000;
