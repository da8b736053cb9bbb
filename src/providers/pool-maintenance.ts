import type { SwitchyardConfig } from '../config/config.schema';
import type { PoolTuneEvent } from './pool-elastic';
import { warmOrigin, type WarmResult, type WarmTarget } from './pool-warmup';
import type { UpstreamClient } from './upstream.client';

export type PoolSettings = SwitchyardConfig['Pools'];

/** The part of PinoLogger this needs (tests pass a recorder). */
export interface PoolLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Keeps the upstream pools ready: warm-up at startup, pings on idle origins so their sockets stay open
 * (and are reopened when the upstream closed them), and the auto-tune pass. Every failure is logged and
 * swallowed: a provider that is down at boot must not stop the gateway. Timers are unref'd and cleared
 * on stop(), which also aborts any probe still in flight.
 */
export class PoolMaintenance {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly stopping = new AbortController();
  private readonly lastPing = new Map<string, number>();
  private readonly failing = new Set<string>();
  private pinging = false;

  constructor(
    private readonly client: UpstreamClient,
    private readonly settings: PoolSettings,
    private readonly log: PoolLogger,
  ) {}

  /** Warms every target (bounded by `warmupTimeoutMs`), then starts the ping and tune timers. */
  async start(targets: WarmTarget[]): Promise<WarmResult[]> {
    const { warmup, warmConnections, healthPingMs, autoTune, tuneIntervalMs } = this.settings;
    const results = warmup && warmConnections > 0 ? await this.warmUp(targets, warmConnections) : [];
    if (this.stopping.signal.aborted) {
      return results;
    }
    for (const t of targets) {
      this.lastPing.set(t.origin, Date.now());
    }
    if (healthPingMs > 0) {
      // Checking twice per period bounds an origin's idle gap to 1.5 × healthPingMs.
      this.every(Math.max(1, Math.floor(healthPingMs / 2)), () => this.pingIdle());
    }
    if (autoTune) {
      this.every(tuneIntervalMs, async () => {
        this.tune();
      });
    }
    return results;
  }

  async warmUp(targets: WarmTarget[], connections: number): Promise<WarmResult[]> {
    return Promise.all(
      targets.map(async (target) => {
        const r = await warmOrigin(this.client, target, connections, this.deadline());
        if (r.failed > 0) {
          this.log.warn({ pool: r }, 'upstream pool warm-up incomplete');
        } else {
          this.log.debug({ pool: r }, 'upstream pool warmed');
        }
        return r;
      }),
    );
  }

  /** Pings every origin that carried no request for `healthPingMs` and has nothing in flight. */
  async pingIdle(now = Date.now()): Promise<void> {
    if (this.pinging) {
      return;
    }
    this.pinging = true;
    try {
      const stats = new Map(this.client.stats().map((s) => [s.origin, s]));
      const due = this.client.origins().filter((origin) => {
        const last = Math.max(this.client.lastUsedAt(origin), this.lastPing.get(origin) ?? 0);
        const s = stats.get(origin);
        return now - last >= this.settings.healthPingMs && (s?.running ?? 0) + (s?.pending ?? 0) === 0;
      });
      await Promise.all(due.map((origin) => this.ping(origin)));
    } finally {
      this.pinging = false;
    }
  }

  /** One auto-tune pass (the grow side happens at dispatch time, in ElasticPool). */
  tune(): PoolTuneEvent[] {
    return this.client.tune();
  }

  stop(): void {
    this.stopping.abort();
    for (const t of this.timers.splice(0)) {
      clearInterval(t);
    }
  }

  private async ping(origin: string): Promise<void> {
    this.lastPing.set(origin, Date.now());
    const count = Math.max(1, Math.min(this.settings.warmConnections, this.client.limitOf(origin)));
    const r = await warmOrigin(this.client, { origin }, count, this.deadline());
    if (this.stopping.signal.aborted) {
      return;
    }
    const ok = r.failed === 0;
    this.client.notePing(origin, ok);
    // One warning when an origin starts failing and one line when it is back, not one per period.
    if (!ok && !this.failing.has(origin)) {
      this.failing.add(origin);
      this.log.warn({ pool: r }, 'upstream pool health ping failed');
    } else if (ok && this.failing.delete(origin)) {
      this.log.info({ pool: r }, 'upstream pool reachable again');
    } else {
      this.log.debug({ pool: r }, 'upstream pool health ping');
    }
  }

  /** One per origin: probes of one origin share it (and its listener budget). */
  private deadline(): AbortSignal {
    return AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.settings.warmupTimeoutMs)]);
  }

  private every(ms: number, task: () => Promise<void>): void {
    const timer = setInterval(() => {
      task().catch((err: unknown) => this.log.warn({ err }, 'upstream pool maintenance failed'));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }
}
