import { Injectable } from '@nestjs/common';

export type HedgeOutcome = 'won_primary' | 'won_hedge' | 'budget_exhausted' | 'both_failed';

/**
 * In-process counters of the failover machinery (read by /api/providers; a metrics module can export
 * them). Labels are bounded: trigger names, outcomes and configured targets — never a request or a user.
 */
@Injectable()
export class FailoverCounters {
  private readonly values = new Map<string, number>();

  /** `from`/`to` are configured targets; `reason` a trigger name or `http_<status>`. */
  failover(from: string, to: string, reason: string): void {
    this.inc(`failovers{reason=${reason}}`);
    this.inc(`failover_path{from=${from},to=${to}}`);
  }

  attempt(outcome: 'ok' | 'failed' | 'skipped', reason?: string): void {
    this.inc(reason ? `attempts{outcome=${outcome},reason=${reason}}` : `attempts{outcome=${outcome}}`);
  }

  hedge(outcome: HedgeOutcome): void {
    this.inc(`hedges{outcome=${outcome}}`);
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
    if (!this.values.has(name) && this.values.size >= 5_000) {
      return;
    }
    this.values.set(name, (this.values.get(name) ?? 0) + 1);
  }
}
