/** One move along a chain (the status page's "recent failovers"). */
export interface FailoverEvent {
  /** Date.now() when the next target was started. */
  at: number;
  from: string;
  to: string;
  reason: string;
}

/** The last `capacity` failovers of this process, oldest overwritten first: memory stays bounded. */
export class RecentFailovers {
  private readonly ring: FailoverEvent[] = [];
  private next = 0;

  constructor(readonly capacity = 50) {}

  push(event: FailoverEvent): void {
    if (this.ring.length < this.capacity) {
      this.ring.push(event);
    } else {
      this.ring[this.next] = event;
    }
    this.next = (this.next + 1) % this.capacity;
  }

  /** Newest first. */
  list(): FailoverEvent[] {
    const n = this.ring.length;
    const out: FailoverEvent[] = [];
    for (let i = 1; i <= n; i++) {
      out.push({ ...this.ring[(this.next - i + n) % n] });
    }
    return out;
  }
}
