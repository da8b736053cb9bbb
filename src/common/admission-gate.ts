/**
 * Cooperative admission of model requests into the event loop.
 *
 * Node hands every socket that became readable to its callback in one poll phase. When a burst arrives (Claude
 * Code sessions starting together, a retry storm, a batch), a few hundred requests are parsed, routed, counted
 * and sent upstream back to back in a single loop turn, and for that whole turn nothing else runs: no streamed
 * delta reaches its client, no timer fires (deadlines, Redis watchdog, health), no probe is answered.
 *
 * The gate spreads that work over loop turns. Each turn may start at most `perTurn` requests; the rest wait in
 * FIFO order and are started from a `setImmediate` at the end of a later turn (the check phase), after that turn's
 * I/O (streams already running) has been served. `perTurn` follows what the gate's own work costs: a second
 * immediate queued right behind the pump runs once everything the started requests did synchronously, in
 * microtasks and in next-ticks is done, so the gate knows how long its slice of the turn took. The slice is aimed
 * at `targetTurnMs`, or at as long as the rest of the turn took when that was longer: new requests always get at
 * least half of a busy turn, so a burst arriving on top of a thousand running streams is slowed, never starved.
 * A request that finds nobody waiting and the turn under its quota goes straight through, so an idle gateway
 * adds nothing. Total work is unchanged: the same requests are started in the same order, never all in one turn.
 */
export interface AdmissionGateOptions {
  /** Starting and maximum quota of requests started per turn. */
  initialPerTurn?: number;
  maxPerTurn?: number;
  now?: () => number;
}

export interface AdmissionStats {
  /** Requests that went straight through, and requests that waited for a later turn. */
  direct: number;
  deferred: number;
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
  private readonly line: Release[] = [];
  private head = 0;
  private pumpScheduled = false;
  /** When the current pump started, how many it took from the line, and how long the rest of its turn took. */
  private pumpStartedAt = 0;
  private released = 0;
  private otherMs = 0;
  /** When the previous pump's work ended, while the gate is busy. */
  private lastEndAt: number | undefined;
  private readonly counters = { direct: 0, deferred: 0, maxWaiting: 0 };

  /** The loop turn the gate aims for, in ms (`Server.admission.targetTurnMs`; may change on a reload). */
  targetTurnMs = 10;

  constructor(o: AdmissionGateOptions = {}) {
    this.maxPerTurn = o.maxPerTurn ?? 256;
    this.perTurn = Math.min(o.initialPerTurn ?? 16, this.maxPerTurn);
    this.now = o.now ?? (() => performance.now());
  }

  /** `start` runs now (returns true) or in a later loop turn, in arrival order (returns false). */
  admit(start: Release): boolean {
    if (this.waiting === 0 && this.used < this.perTurn) {
      this.used++;
      this.counters.direct++;
      this.schedulePump();
      return true;
    }
    this.enqueue(start);
    return false;
  }

  /** The promise form of `admit`: undefined to go on now, or a promise settled in the turn this unit starts. */
  turn(): Promise<void> | undefined {
    if (this.waiting === 0 && this.used < this.perTurn) {
      this.used++;
      this.counters.direct++;
      this.schedulePump();
      return undefined;
    }
    return new Promise<void>((resolve) => this.enqueue(resolve));
  }

  private enqueue(start: Release): void {
    this.line.push(start);
    this.counters.deferred++;
    this.counters.maxWaiting = Math.max(this.counters.maxWaiting, this.waiting);
    this.schedulePump();
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
      // Queued right behind the pump: Node drains next-ticks and microtasks between two immediates, so this runs
      // when the work of the requests the pump started has run as far as it can without I/O.
      setImmediate(this.pumpEnd);
    }
  }

  /** End of a loop turn: start the next requests in line, up to the quota. */
  private readonly pump = (): void => {
    this.pumpScheduled = false;
    const now = this.now();
    this.otherMs = this.lastEndAt === undefined ? 0 : now - this.lastEndAt;
    this.pumpStartedAt = now;
    this.used = 0;
    this.released = 0;
    while (this.used < this.perTurn && this.waiting > 0) {
      const start = this.line[this.head];
      this.line[this.head++] = undefined as unknown as Release;
      this.used++;
      this.released++;
      start();
    }
    if (this.head > 1024 && this.head * 2 > this.line.length) {
      this.line.splice(0, this.head);
      this.head = 0;
    }
    if (this.waiting > 0 || this.used > 0) {
      this.schedulePump(); // the next turn's (immediates queued now run in the next loop iteration)
    }
  };

  /** After the started requests ran: fit the quota to the slice they took. */
  private readonly pumpEnd = (): void => {
    const now = this.now();
    if (this.released > 0) {
      const sliceMs = Math.max(now - this.pumpStartedAt, 0.05);
      const budgetMs = Math.max(this.targetTurnMs, this.otherMs);
      const fit = Math.min((this.perTurn * budgetMs) / sliceMs, this.perTurn * 2);
      this.perTurn = Math.max(1, Math.min(this.maxPerTurn, Math.round((this.perTurn + fit) / 2)));
    }
    // The rest of the next turn is measured from here, while the gate stays busy.
    this.lastEndAt = this.pumpScheduled ? now : undefined;
  };
}
