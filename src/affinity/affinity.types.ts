/* The public contract of AffinityService (what the gateway, failover and GET /api/affinity use). */

/** What is stored per (session, routed target): the pinned target and the failovers counted against it. */
export interface PinState {
  /** "provider,model" the session's requests for this routed target are tried on first. */
  pin: string;
  /** Consecutive answers served by another target since the pin last served (0 ≤ strikes < moveAfter). */
  strikes: number;
}

/**
 * What one answer did to the pin: `pinned` (there was none), `kept` (the pin served; strikes reset),
 * `strike` (another target served; the pin stays), `moved` (the moveAfter-th strike in a row: the pin moved).
 */
export type PinChange = 'pinned' | 'kept' | 'strike' | 'moved';

export interface PinDecision {
  change: PinChange;
  state: PinState;
}

/** The usage fields of an answer that matter for prompt-cache reuse (Anthropic meaning: input excludes cache). */
export interface CacheUsage {
  input_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

export interface ProviderUsageView {
  /** Completed answers that reached the upstream (gateway cache hits are not counted). */
  requests: number;
  inputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  /** cacheRead / (input + cacheRead + cacheCreation); 0 before any token. */
  cacheReadShare: number;
}

export type AffinityMode = 'redis' | 'local' | 'disabled';

export interface AffinitySnapshot {
  enabled: boolean;
  mode: AffinityMode;
  /** Sessions held in this instance's LRU (its own form, and the mirror used while Redis is away). */
  sessionsLocal: number;
  ttlSec: number;
  moveAfter: number;
  /** This instance's counters, by provider. */
  providers: Record<string, ProviderUsageView>;
  /** Totals of every instance (Redis); null when Redis is not in use or did not answer in time. */
  cluster: { providers: Record<string, ProviderUsageView> } | null;
  /** This instance's record() outcomes; `full` = a session already had its maximum of routed targets. */
  decisions: Record<PinChange | 'full', number>;
  /** Strikes counted for answers whose chain did not report a failover (the pin was skipped or absent). */
  strikesWithoutFailover: number;
  /** Redis commands that failed or timed out (each fell back to the local form). */
  redisErrors: number;
}
