import type { PinDecision, PinState } from './affinity.types';

/**
 * The pin's hysteresis, as a pure function (the Redis Lua script in redis-affinity.store.ts is its
 * transcription; the e2e spec runs both on the same sequences):
 *
 * - no pin yet ⇒ pin `served`;
 * - `served` is the pin ⇒ keep it, strikes back to 0;
 * - another target served (the pin failed, was skipped or was not in the chain) ⇒ one strike; the
 *   `moveAfter`-th strike in a row moves the pin to the target that served that answer, strikes back to 0.
 *
 * So a pin survives `moveAfter − 1` failovers in a row, and one good answer from it forgives them all.
 */
export function decidePin(current: PinState | undefined, served: string, moveAfter: number): PinDecision {
  if (!current) {
    return { change: 'pinned', state: { pin: served, strikes: 0 } };
  }
  if (current.pin === served) {
    return { change: 'kept', state: { pin: served, strikes: 0 } };
  }
  const strikes = current.strikes + 1;
  if (strikes >= Math.max(1, moveAfter)) {
    return { change: 'moved', state: { pin: served, strikes: 0 } };
  }
  return { change: 'strike', state: { pin: current.pin, strikes } };
}

/** How a PinState is stored as one Redis hash field value: `<strikes> <pin>` (the pin may contain spaces). */
export function encodePin(state: PinState): string {
  return `${state.strikes} ${state.pin}`;
}

export function decodePin(value: string | null | undefined): PinState | undefined {
  const m = value ? /^(\d+) (.+)$/s.exec(value) : null;
  return m ? { pin: m[2], strikes: Number(m[1]) } : undefined;
}
