import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

const RESOLUTION_MS = 10;
const WINDOW_MS = 1000;

/**
 * The event loop's recent delay: p99 of Node's loop-delay histogram over the last full second, less the
 * sampling interval (the histogram records whole intervals). Started on first use, stopped on shutdown.
 */
export class EventLoopLag {
  private histogram?: IntervalHistogram;
  private timer?: NodeJS.Timeout;
  private last = 0;

  /** Milliseconds; 0 until the first window is over. */
  get lagMs(): number {
    this.start();
    return this.last;
  }

  start(): void {
    if (this.histogram) {
      return;
    }
    const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    h.enable();
    this.histogram = h;
    this.timer = setInterval(() => {
      this.last = h.count > 0 ? Math.max(0, h.percentile(99) / 1e6 - RESOLUTION_MS) : 0;
      h.reset();
    }, WINDOW_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram?.disable();
    this.histogram = undefined;
    this.timer = undefined;
  }
}
