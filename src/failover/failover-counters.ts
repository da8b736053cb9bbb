import { Injectable } from '@nestjs/common';
import { RecentFailovers } from './recent-failovers';
import type { LocalBuckets } from '../metrics/fast-histogram';

export type HedgeOutcome = 'won_primary' | 'won_hedge' | 'budget_exhausted' | 'both_failed';

/** How a streamed answer that broke after its commit point went on (docs/failover.md#stream-resume). */
export type StreamResumeOutcome = 'resumed' | 'refused' | 'failed';

/** How one upstream call ended (the `outcome` label of the upstream latency metrics). */
export type AttemptOutcome = 'ok' | 'failed' | 'timeout' | 'client_closed' | 'hedge_lost';

/** One finished upstream call, for the upstream latency metrics. */
export interface AttemptSample {
  /** "provider,model" */
  target: string;
  outcome: AttemptOutcome;
  /** Call start → first event, when one came. */
  ttfbMs?: number;
  /** Call start → its last event, or its failure. */
  durationMs: number;
  /** Gaps between the events of a committed stream (seconds), read waits only. */
  gaps?: LocalBuckets;
}

export interface FailoverCount {
  from: string;
  to: string;
  reason: string;
  count: number;
}

/** Bounded: targets come from configuration, reasons from a fixed set. */
const MAX_KEYS = 5_000;

/**
 * In-process counters of the failover machinery (read by /api/providers; a metrics module can export
 * them). Labels are bounded: trigger names, outcomes and configured targets — never a request or a user.
 */
@Injectable()
export class FailoverCounters {
  private readonly values = new Map<string, number>();
  private readonly paths = new Map<string, FailoverCount>();
  private readonly attemptListeners: ((sample: AttemptSample) => void)[] = [];
  /** The last failovers as events (the status page's list, `/api/failovers`). */
  readonly recent = new RecentFailovers();

  /** `from`/`to` are configured targets; `reason` a trigger name or `http_<status>`. */
  failover(from: string, to: string, reason: string): void {
    this.recent.push({ at: Date.now(), from, to, reason });
    this.inc(`failovers{reason=${reason}}`);
    this.inc(`failover_path{from=${from},to=${to}}`);
    const key = `${from}\u0001${to}\u0001${reason}`;
    const path = this.paths.get(key);
    if (path) {
      path.count++;
    } else if (this.paths.size < MAX_KEYS) {
      this.paths.set(key, { from, to, reason, count: 1 });
    }
  }

  /** Failovers by (from, to, reason); targets contain commas, so they are kept apart from `snapshot()`. */
  failoverCounts(): FailoverCount[] {
    return [...this.paths.values()].map((p) => ({ ...p }));
  }

  /** Counters named `name{k=v,…}` (attempts, hedges, breaker_transitions) with their labels parsed. */
  labelled(name: string): { labels: Record<string, string>; value: number }[] {
    const out: { labels: Record<string, string>; value: number }[] = [];
    for (const [key, value] of this.values) {
      if (key === name) {
        out.push({ labels: {}, value });
      } else if (key.startsWith(`${name}{`) && key.endsWith('}')) {
        const labels: Record<string, string> = {};
        for (const pair of key.slice(name.length + 1, -1).split(',')) {
          const eq = pair.indexOf('=');
          labels[pair.slice(0, eq)] = pair.slice(eq + 1);
        }
        out.push({ labels, value });
      }
    }
    return out;
  }

  /** Listens to every finished upstream call (metrics); returns the unsubscribe function. */
  onAttemptEnd(listener: (sample: AttemptSample) => void): () => void {
    this.attemptListeners.push(listener);
    return () => {
      const i = this.attemptListeners.indexOf(listener);
      if (i >= 0) {
        this.attemptListeners.splice(i, 1);
      }
    };
  }

  attemptEnded(sample: AttemptSample): void {
    for (const listener of this.attemptListeners) {
      try {
        listener(sample);
      } catch {
        // observability must never break an answer
      }
    }
  }

  attempt(outcome: 'ok' | 'failed' | 'skipped', reason?: string): void {
    this.inc(reason ? `attempts{outcome=${outcome},reason=${reason}}` : `attempts{outcome=${outcome}}`);
  }

  hedge(outcome: HedgeOutcome): void {
    this.inc(`hedges{outcome=${outcome}}`);
  }

  streamResume(outcome: StreamResumeOutcome): void {
    this.inc(`stream_resumes{outcome=${outcome}}`);
  }

  allUnavailable(): void {
    this.inc('all_targets_unavailable');
  }

  breaker(transition: 'opened' | 'closed'): void {
    this.inc(`breaker_transitions{to=${transition}}`);
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.values.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  private inc(name: string): void {
    // Targets come from configuration, so the key set is bounded; the cap guards against config churn.
    if (!this.values.has(name) && this.values.size >= MAX_KEYS) {
      return;
    }
    this.values.set(name, (this.values.get(name) ?? 0) + 1);
  }
}
