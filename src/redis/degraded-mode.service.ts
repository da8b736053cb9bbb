import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { RedisService } from './redis.service';

/** The subsystems that have a distributed (Redis) form and a local (in-process) one. */
export const SUBSYSTEMS = ['cache', 'dedup', 'ratelimit', 'queue', 'affinity', 'circuit'] as const;
export type Subsystem = (typeof SUBSYSTEMS)[number];

/** `disabled`: no Redis is configured at all, so the local form is the only form (not a degradation). */
export type SubsystemMode = 'redis' | 'local' | 'disabled';

export interface ModeChange {
  subsystem: Subsystem;
  mode: SubsystemMode;
  previous: SubsystemMode;
}

export type ModeListener = (change: ModeChange) => void;

/**
 * Which form each subsystem runs in right now (ARCHITECTURE.md §3). It follows the hot connection's health
 * (ioredis events + the 500 ms watchdog in RedisService), so every subsystem drops to local within a second
 * of Redis going away and returns by itself. Subsystems that must stay local even with Redis (e.g.
 * `Dedup.crossInstance: false`) pin themselves, so that /health/ready tells the truth.
 */
@Injectable()
export class DegradedModeService implements OnModuleDestroy {
  private readonly pinned = new Set<Subsystem>();
  private readonly listeners = new Set<{ fn: ModeListener; only?: Subsystem }>();
  private last: Record<Subsystem, SubsystemMode>;
  private readonly unsubscribe: () => void;

  constructor(private readonly redis: RedisService) {
    this.last = this.compute();
    this.unsubscribe = redis.onStateChange(() => this.publish());
  }

  modes(): Record<Subsystem, SubsystemMode> {
    return this.compute();
  }

  mode(subsystem: Subsystem): SubsystemMode {
    return this.modeOf(subsystem, this.redis.configured, this.redis.mode === 'redis');
  }

  /** True when the subsystem should use Redis for this operation. */
  isDistributed(subsystem: Subsystem): boolean {
    return this.mode(subsystem) === 'redis';
  }

  /** Keeps a subsystem in its local form regardless of Redis (its own config says so). */
  pinLocal(subsystem: Subsystem): void {
    this.pinned.add(subsystem);
    this.publish();
  }

  /**
   * Called on every change of a subsystem's mode (all subsystems, or only `subsystem`); returns the
   * unsubscribe function. Listeners run synchronously inside the flip and must not throw.
   */
  onChange(listener: ModeListener, subsystem?: Subsystem): () => void {
    const entry = { fn: listener, only: subsystem };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  onModuleDestroy(): void {
    this.unsubscribe();
    this.listeners.clear();
  }

  private compute(): Record<Subsystem, SubsystemMode> {
    const configured = this.redis.configured;
    const up = this.redis.mode === 'redis';
    const out = {} as Record<Subsystem, SubsystemMode>;
    for (const s of SUBSYSTEMS) {
      out[s] = this.modeOf(s, configured, up);
    }
    return out;
  }

  private modeOf(subsystem: Subsystem, configured: boolean, up: boolean): SubsystemMode {
    if (!configured) {
      return 'disabled';
    }
    return up && !this.pinned.has(subsystem) ? 'redis' : 'local';
  }

  private publish(): void {
    const next = this.compute();
    const previous = this.last;
    this.last = next;
    for (const subsystem of SUBSYSTEMS) {
      if (next[subsystem] === previous[subsystem]) {
        continue;
      }
      const change: ModeChange = { subsystem, mode: next[subsystem], previous: previous[subsystem] };
      for (const { fn, only } of this.listeners) {
        if (only === undefined || only === subsystem) {
          try {
            fn(change);
          } catch {
            // A subsystem's reaction must not stop the others from hearing about the flip.
          }
        }
      }
    }
  }
}
