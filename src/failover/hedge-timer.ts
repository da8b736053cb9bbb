/**
 * One-shot timer raced against the attempts; always disarmed in `finally`. Its promises belong to one
 * request (a shared never-settling promise would collect a reaction per race, forever).
 */
export class HedgeTimer {
  private timer?: NodeJS.Timeout;
  private resolve?: (v: 'hedge') => void;
  private pending = new Promise<'hedge'>((resolve) => {
    this.resolve = resolve;
  });

  get fired(): Promise<'hedge'> {
    return this.pending;
  }

  arm(ms: number | undefined): void {
    if (ms !== undefined) {
      this.timer = setTimeout(() => this.resolve?.('hedge'), Math.max(1, ms));
    }
  }

  /** After firing once it never fires again. */
  consume(): void {
    this.pending = new Promise<'hedge'>(() => undefined);
  }

  disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
