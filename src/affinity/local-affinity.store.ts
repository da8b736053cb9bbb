import { LRUCache } from 'lru-cache';
import type { PinDecision, PinState } from './affinity.types';
import { decidePin } from './hysteresis';

export interface LocalAffinityOptions {
  /** Sessions kept (least recently written dropped first). */
  maxSessions: number;
  /** A session is forgotten this long after its last write (`Affinity.ttlSec`). */
  ttlMs: number;
  /** Routed targets per session; a new one beyond this is not pinned (the Redis form has the same cap). */
  maxRoutes: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

/**
 * The per-instance form of the pin map: an LRU of sessions, each a small map routed target → PinState,
 * with the same TTL as the Redis hash (refreshed by every write). It serves alone when Redis is not
 * configured, and mirrors what Redis answered otherwise, so that an outage keeps the sessions this
 * instance has seen on their targets.
 */
export class LocalAffinityStore {
  private readonly sessions: LRUCache<string, Map<string, PinState>>;
  private ttlMs: number;

  constructor(private readonly o: LocalAffinityOptions) {
    this.ttlMs = o.ttlMs;
    this.sessions = new LRUCache<string, Map<string, PinState>>({
      max: o.maxSessions,
      ttl: o.ttlMs,
      // With a cached clock (the default 1 ms resolution) a test clock would be read late.
      ttlResolution: 0,
      ...(o.now ? { perf: { now: o.now } } : {}),
    });
  }

  /** A reload changed `Affinity.ttlSec`: sessions written from now on live this long. */
  setTtl(ms: number): void {
    this.ttlMs = ms;
  }

  get(session: string, routed: string): PinState | undefined {
    return this.sessions.get(session)?.get(routed);
  }

  /** Applies one answer (see decidePin); undefined when the session is full of other routed targets. */
  record(session: string, routed: string, served: string, moveAfter: number): PinDecision | undefined {
    const routes = this.sessions.get(session) ?? new Map<string, PinState>();
    if (!routes.has(routed) && routes.size >= this.o.maxRoutes) {
      return undefined;
    }
    const decision = decidePin(routes.get(routed), served, moveAfter);
    routes.set(routed, decision.state);
    this.sessions.set(session, routes, { ttl: this.ttlMs }); // refreshes the TTL, like EXPIRE on the Redis hash
    return decision;
  }

  /** Mirrors the state Redis holds (after a read or a record there). */
  put(session: string, routed: string, state: PinState): void {
    const routes = this.sessions.get(session) ?? new Map<string, PinState>();
    if (!routes.has(routed) && routes.size >= this.o.maxRoutes) {
      return;
    }
    routes.set(routed, state);
    this.sessions.set(session, routes, { ttl: this.ttlMs });
  }

  /** Redis has no pin for this route (expired there, or never written): the mirror must not resurrect it. */
  forget(session: string, routed: string): void {
    const routes = this.sessions.get(session);
    if (routes?.delete(routed) && routes.size === 0) {
      this.sessions.delete(session);
    }
  }

  /** Live sessions (expired ones are purged first, so the number is exact). */
  get size(): number {
    this.sessions.purgeStale();
    return this.sessions.size;
  }
}
