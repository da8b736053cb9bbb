/**
 * Input tokens of each session's last turn (CCR's "lastUsage" rule: a session whose previous turn was
 * above the long-context threshold keeps routing there). Bounded LRU so a flood of sessions cannot grow it.
 */
export class SessionUsageMemory {
  private readonly map = new Map<string, number>();

  constructor(private readonly maxSessions = 10_000) {}

  get(sessionId: string | undefined): number | undefined {
    return sessionId === undefined ? undefined : this.map.get(sessionId);
  }

  set(sessionId: string | undefined, inputTokens: number): void {
    if (sessionId === undefined) {
      return;
    }
    this.map.delete(sessionId);
    this.map.set(sessionId, inputTokens);
    if (this.map.size > this.maxSessions) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) {
        this.map.delete(oldest);
      }
    }
  }

  get size(): number {
    return this.map.size;
  }
}
