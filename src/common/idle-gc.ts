import { setFlagsFromString, getHeapStatistics } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** Below this event-loop utilization over a check interval the process counts as idle. */
const IDLE_UTILIZATION = 0.05;
/** Idle checks in a row before collecting (a pause in a burst is not idleness). */
const IDLE_CHECKS = 2;
/** At most one collection this often. */
const MIN_GAP_MS = 10_000;

export interface IdleGcState {
  /** Heap used right after the last full collection (the live set), bytes. */
  baseline: number;
  idleChecks: number;
  lastGcAt: number;
}

/**
 * Decides whether a full collection is due: the process has been idle for a while and the heap holds at
 * least `growthBytes` more than the live set measured after the last collection. V8 does not run major
 * collections while idle, so the garbage of a burst (1,000 concurrent requests) otherwise stays in the
 * old generation — and in RSS — until the next burst piles its own on top.
 */
export function gcDue(
  state: IdleGcState,
  utilization: number,
  heapUsed: number,
  now: number,
  growthBytes: number,
): boolean {
  state.baseline = Math.min(state.baseline, heapUsed); // a collection V8 ran by itself lowers it too
  state.idleChecks = utilization < IDLE_UTILIZATION ? state.idleChecks + 1 : 0;
  return (
    state.idleChecks >= IDLE_CHECKS &&
    heapUsed - state.baseline >= growthBytes &&
    now - state.lastGcAt >= MIN_GAP_MS
  );
}

/** `gc()` without starting Node with --expose-gc; undefined where the runtime refuses. */
export function exposeGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/** Checks every `intervalMs` (unref'd) and collects when `gcDue`; returns the stop function. */
export function startIdleGc(growthBytes: number, intervalMs = 1000): () => void {
  const gc = exposeGc();
  if (!gc || growthBytes <= 0) {
    return () => undefined;
  }
  const heapUsed = (): number => getHeapStatistics().used_heap_size;
  const state: IdleGcState = { baseline: heapUsed(), idleChecks: 0, lastGcAt: 0 };
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, last);
    last = now;
    if (gcDue(state, utilization, heapUsed(), Date.now(), growthBytes)) {
      gc();
      state.baseline = heapUsed();
      state.lastGcAt = Date.now();
      state.idleChecks = 0;
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
