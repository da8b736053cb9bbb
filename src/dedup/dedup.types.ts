import type { SwitchyardConfig } from '../config/config.schema';
import type { StreamEvent } from '../protocol/types';

export type DedupRole = 'leader' | 'follower';

export interface DedupJoin {
  /** `leader` when this caller's own leaderCall produces the answer, `follower` when it shares another's. */
  role: DedupRole;
  /** The complete answer from its first event. `return()` detaches this subscriber (single consumer). */
  events: AsyncIterator<StreamEvent>;
}

/** Starts the upstream call; `signal` fires only when the last subscriber of the shared answer has left. */
export type LeaderCall = (
  signal: AbortSignal,
) => Promise<AsyncIterable<StreamEvent> | AsyncIterator<StreamEvent>>;

export interface DedupStats {
  /** Joins answered by their own upstream call. */
  leaders: number;
  /** Joins that shared another caller's upstream call (in this process or another one). */
  followers: number;
  /** Shared answers in flight in this process right now. */
  inFlight: number;
  /** Followers whose answer came from a leader on another instance (through Redis). */
  crossInstanceFollowers: number;
  /** Subscribers detached because they fell behind a capped log. */
  detachedSlow: number;
  /** Upstream calls made because another instance's leader went away mid-answer. */
  takeovers: number;
}

export type DedupSettings = SwitchyardConfig['Dedup'];
