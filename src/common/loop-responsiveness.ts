const CAPACITY = 256;

/**
 * Whether this process's event loop has been keeping up lately: a timer ticks every `periodMs` and its
 * recent ticks are kept, so `share(windowMs)` says which fraction of the expected ticks actually ran in
 * the last `windowMs` (1 = responsive, near 0 = the loop was saturated the whole time).
 *
 * Used before judging others slow: when the gateway itself is CPU-bound (a burst of a thousand requests),
 * an upstream's answers sit unread in the socket and every attempt looks like it waits on the provider.
 * The timer is unref'd and started on first use.
 */
export class LoopResponsiveness {
  private readonly ticks = new Float64Array(CAPACITY);
  private head = 0;
  private count = 0;
  private timer?: NodeJS.Timeout;
  private startedAt = 0;

  constructor(private readonly periodMs = 20) {}

  /** Fraction (0–1) of the ticks expected in the last `windowMs` (or since start) that ran. */
  share(windowMs: number, now = performance.now()): number {
    this.start(now);
    const span = Math.min(windowMs, (CAPACITY - 1) * this.periodMs, now - this.startedAt);
    const expected = Math.floor(span / this.periodMs);
    if (expected < 2) {
      return 1; // just started: no evidence either way
    }
    let ran = 0;
    for (let i = 1; i <= Math.min(this.count, CAPACITY); i++) {
      const at = this.ticks[(this.head - i + CAPACITY) % CAPACITY];
      if (now - at > span) {
        break;
      }
      ran += 1;
    }
    return Math.min(1, ran / expected);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Starts ticking (also on first use); start early so a first burst already has history to judge by. */
  start(now = performance.now()): void {
    if (this.timer) {
      return;
    }
    this.startedAt = now;
    this.timer = setInterval(() => this.tick(), this.periodMs);
    this.timer.unref();
  }

  /** One tick (also called directly by tests). */
  tick(at = performance.now()): void {
    this.ticks[this.head] = at;
    this.head = (this.head + 1) % CAPACITY;
    this.count += 1;
  }
}
