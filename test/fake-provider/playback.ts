/** One request/response pair on the wire: timers tied to the socket, frame playback and stream faults. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Fault } from './types';

export interface Frame {
  /** Raw bytes of one event (including its blank-line terminator). */
  data: string;
  /** head: sent with the headers; body: the answer; tail: finish/usage; done: the terminator ([DONE], message_stop). */
  phase: 'head' | 'body' | 'tail' | 'done';
  /** A content delta: paced by chunkGapMs and counted by stall/cut/malformed. */
  delta?: boolean;
}

/** How long a hang/stall holds the socket at most before the fake gives up on it. */
export const MAX_HOLD_MS = 10 * 60_000;

export class Exchange {
  /** Set once the response ended or the socket went away; playback stops at the next await. */
  done = false;
  /** The fake itself destroyed the socket (reset fault, hold expiry, server close). */
  killedByServer = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sleepers = new Set<(alive: boolean) => void>();

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {}

  /** Resolves true after ms, or false as soon as the exchange is over. */
  sleep(ms: number): Promise<boolean> {
    if (this.done) {
      return Promise.resolve(false);
    }
    if (ms <= 0) {
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const wake = (alive: boolean) => {
        clearTimeout(timer);
        this.timers.delete(timer);
        this.sleepers.delete(wake);
        resolve(alive);
      };
      const timer = setTimeout(() => wake(true), ms);
      this.timers.add(timer);
      this.sleepers.add(wake);
    });
  }

  /** Keep the socket open without answering (hang / stall); destroyed after MAX_HOLD_MS. */
  hold(): void {
    const timer = setTimeout(() => this.kill(), MAX_HOLD_MS);
    timer.unref();
    this.timers.add(timer);
  }

  /** Reset the connection from our side (TCP RST; not a client close). */
  kill(): void {
    this.killedByServer = true;
    this.req.socket.resetAndDestroy();
    this.finish();
  }

  /** Called on response close: clears every timer and wakes pending sleeps. */
  finish(): void {
    this.done = true;
    for (const t of this.timers) {
      clearTimeout(t);
    }
    this.timers.clear();
    for (const wake of [...this.sleepers]) {
      wake(false);
    }
  }
}

export interface StreamFaultFrames {
  /** Needed by 'malformed' and 'stream-error'. */
  malformed: string;
  inBandError: string;
}

/** Applies a stream fault to the frame list; `then` says how the response finishes. */
export function applyStreamFault(
  frames: Frame[],
  fault: Fault | null,
  extra: StreamFaultFrames,
): { frames: Frame[]; then: 'end' | 'stall' } {
  if (!fault) {
    return { frames, then: 'end' };
  }
  const deltas = frames.filter((f) => f.delta).length;
  const upToDelta = (n: number): Frame[] => {
    const out: Frame[] = [];
    let seen = 0;
    for (const f of frames) {
      if (f.phase !== 'head' && f.phase !== 'body') {
        break;
      }
      out.push(f);
      if (f.delta && ++seen >= n) {
        break;
      }
    }
    return out;
  };
  switch (fault.type) {
    case 'stall-after-first-byte':
      return { frames: upToDelta(1), then: 'stall' };
    case 'cut':
      return { frames: upToDelta(Math.max(1, Math.ceil(deltas / 2))), then: 'end' };
    case 'stream-error': {
      const before =
        fault.afterDeltas === 0
          ? frames.filter((f) => f.phase === 'head')
          : upToDelta(fault.afterDeltas ?? Math.max(1, Math.ceil(deltas / 2)));
      return { frames: [...before, { data: extra.inBandError, phase: 'tail' }], then: 'end' };
    }
    case 'malformed': {
      const before = upToDelta(Math.max(1, Math.floor(deltas / 2)));
      return {
        frames: [...before, { data: extra.malformed, phase: 'body' }, ...frames.slice(before.length)],
        then: 'end',
      };
    }
    case 'missing-done':
      return { frames: frames.filter((f) => f.phase !== 'done'), then: 'end' };
    case 'status':
    case 'refuse':
    case 'reset':
    case 'hang':
      return { frames, then: 'end' };
  }
}

/**
 * Writes frames, coalescing everything between paced deltas into one write (cheap at gap 0), and
 * waits `gapMs` before every delta but the first (`firstDeltaMs` before the first). Returns early if the
 * client goes away.
 */
export async function playFrames(
  ex: Exchange,
  frames: Frame[],
  gapMs: number,
  then: 'end' | 'stall',
  firstDeltaMs = 0,
): Promise<void> {
  let buf = '';
  let deltas = 0;
  for (const f of frames) {
    const wait = f.delta ? (++deltas > 1 ? gapMs : firstDeltaMs) : 0;
    if (wait > 0) {
      if (buf) {
        ex.res.write(buf);
        buf = '';
      }
      if (!(await ex.sleep(wait))) {
        return;
      }
    }
    buf += f.data;
  }
  if (ex.done) {
    return;
  }
  if (then === 'stall') {
    if (buf) {
      ex.res.write(buf);
    }
    ex.hold();
    return;
  }
  ex.res.end(buf);
}

/** Writes a complete JSON (or pre-serialised) response. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
