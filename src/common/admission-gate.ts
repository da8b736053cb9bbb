/**
 * Cooperative admission of model requests into the event loop.
 *
 * Node hands every socket that became readable to its callback in one poll phase. When a burst arrives (Claude
 * Code sessions starting together, a retry storm, a batch), a few hundred requests are parsed, routed, counted
 * and sent upstream back to back in a single loop turn, and for that whole turn nothing else runs: no streamed
 * delta reaches its client, no timer fires (deadlines, Redis watchdog, health), no probe is answered.
 *
 * The gate spreads that work over loop turns. Each turn may start at most `perTurn` requests; the rest wait in
 * FIFO order and are started from a `setImmediate` at the end of a later turn, after that turn's I/O (streams
 * already running) has been served. `perTurn` adapts to the measured turn length (AIMD: +1 while turns stay
 * under `targetTurnMs`, halved when one runs over), so an idle gateway adds nothing — a request that finds
 * the line empty and the turn under its quota goes straight through — and a saturated one keeps turning over
 * every ~`targetTurnMs` instead of freezing for the length of the burst. Total work is unchanged: the same
 * requests are started in the same order, only never all in one turn.
 */
export interface AdmissionGateOptions {
  /** Starting and maximum quota of requests started per turn. */
  initialPerTurn?: number;
  maxPerTurn?: number;
  now?: () => number;
}

/** A waiting unit: what starts it and when it joined the line. */
interface Waiter {
  start: Release;
  since: number;
}

export interface AdmissionStats {
  /** Requests that went straight through, requests that waited for a later turn, and requests turned away. */
  direct: number;
  deferred: number;
  rejected: number;
  /** Waiting right now, and the most that ever waited at once. */
  waiting: number;
  maxWaiting: number;
  /** The current quota of requests started per loop turn. */
  perTurn: number;
}

type Release = () => void;

export class AdmissionGate {
  private perTurn: number;
  private readonly maxPerTurn: number;
  private readonly now: () => number;
  /** Requests started in the current turn (reset by the pump). */
  private used = 0;
  private readonly line: Waiter[] = [];
  private head = 0;
  private pumpScheduled = false;
  /** When the previous pump ran, if the one before kept the gate busy (turn length = the gap between them). */
  private busySince: number | undefined;
  private readonly counters = { direct: 0, deferred: 0, rejected: 0, maxWaiting: 0 };

  /** The loop turn the gate aims for, in ms (`Server.admission.targetTurnMs`; may change on a reload). */
  targetTurnMs = 10;
  /**
   * A unit that has waited this long starts in the next pump whatever the quota (0: never). Bounds what the
   * gate may add to one unit when the loop stays saturated, at the price of longer turns then.
   */
  maxWaitMs = 0;

  constructor(o: AdmissionGateOptions = {}) {
    this.maxPerTurn = o.maxPerTurn ?? 256;
    this.perTurn = Math.min(o.initialPerTurn ?? 16, this.maxPerTurn);
    this.now = o.now ?? (() => performance.now());
  }

  /** `start` runs now (returns true) or in a later loop turn, in arrival order (returns false). */
  admit(start: Release): boolean {
    if (this.startsNow()) {
      return true;
    }
    this.enqueue(start);
    return false;
  }

  /** The promise form of `admit`: undefined to go on now, or a promise settled in the turn this unit starts. */
  turn(): Promise<void> | undefined {
    return this.startsNow() ? undefined : new Promise<void>((resolve) => this.enqueue(resolve));
  }

  /** Nobody waiting and the turn under its quota: counted as started now. */
  private startsNow(): boolean {
    if (this.waiting > 0 || this.used >= this.perTurn) {
      return false;
    }
    this.used++;
    this.counters.direct++;
    this.schedulePump();
    return true;
  }

  private enqueue(start: Release): void {
    this.line.push({ start, since: this.now() });
    this.counters.deferred++;
    this.counters.maxWaiting = Math.max(this.counters.maxWaiting, this.waiting);
    this.schedulePump();
  }

  /** The caller turned a request away because the line was full (counted only). */
  noteRejected(): void {
    this.counters.rejected++;
  }

  get waiting(): number {
    return this.line.length - this.head;
  }

  stats(): AdmissionStats {
    return { ...this.counters, waiting: this.waiting, perTurn: this.perTurn };
  }

  private schedulePump(): void {
    if (!this.pumpScheduled) {
      this.pumpScheduled = true;
      setImmediate(this.pump);
    }
  }

  /** End of a loop turn: adapt the quota to the turn that just ran, then start the next requests in line. */
  private readonly pump = (): void => {
    this.pumpScheduled = false;
    const now = this.now();
    if (this.busySince !== undefined) {
      const turnMs = now - this.busySince;
      this.perTurn =
        turnMs > this.targetTurnMs
          ? Math.max(1, this.perTurn >> 1)
          : Math.min(this.maxPerTurn, this.perTurn + 1);
    }
    this.used = 0;
    const aged = this.maxWaitMs > 0 ? now - this.maxWaitMs : Number.NEGATIVE_INFINITY;
    while (this.waiting > 0 && (this.used < this.perTurn || this.line[this.head].since <= aged)) {
      const { start } = this.line[this.head];
      this.line[this.head++] = undefined as unknown as Waiter;
      this.used++;
      start();
    }
    if (this.head > 1024 && this.head * 2 > this.line.length) {
      this.line.splice(0, this.head);
      this.head = 0;
    }
    // Requests started in this pump run in the microtasks right after it: measure the turn they belong to.
    if (this.used > 0) {
      this.busySince = now;
      this.schedulePump();
    } else {
      this.busySince = undefined;
    }
  };
}
