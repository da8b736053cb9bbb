import type { PinState } from './affinity.types';
import { decidePin, decodePin, encodePin } from './hysteresis';

const A = 'openai,gpt-fake';
const B = 'anthropic,claude-fake';
const C = 'gemini,gemini-fake';

/** Runs answers (the target that served each) through decidePin from no pin; returns every step. */
function run(served: string[], moveAfter: number): { change: string; pin: string; strikes: number }[] {
  let state: PinState | undefined;
  return served.map((s) => {
    const d = decidePin(state, s, moveAfter);
    state = d.state;
    return { change: d.change, ...d.state };
  });
}

describe('decidePin (affinity hysteresis)', () => {
  it('pins the first target that serves', () => {
    expect(decidePin(undefined, A, 3)).toEqual({ change: 'pinned', state: { pin: A, strikes: 0 } });
  });

  it('keeps the pin while it serves', () => {
    expect(run([A, A, A], 3).map((s) => s.change)).toEqual(['pinned', 'kept', 'kept']);
  });

  it('moves only on the moveAfter-th consecutive answer from another target', () => {
    expect(run([A, B, B, B, B], 3)).toEqual([
      { change: 'pinned', pin: A, strikes: 0 },
      { change: 'strike', pin: A, strikes: 1 },
      { change: 'strike', pin: A, strikes: 2 },
      { change: 'moved', pin: B, strikes: 0 },
      { change: 'kept', pin: B, strikes: 0 },
    ]);
  });

  it('one answer from the pin forgives the strikes before it', () => {
    const steps = run([A, B, B, A, B, B], 3);
    expect(steps.map((s) => s.change)).toEqual(['pinned', 'strike', 'strike', 'kept', 'strike', 'strike']);
    expect(steps.at(-1)).toEqual({ change: 'strike', pin: A, strikes: 2 });
  });

  it('strikes count whichever other target served; the pin moves to the one that served the last of them', () => {
    expect(run([A, B, C, B], 3).at(-1)).toEqual({ change: 'moved', pin: B, strikes: 0 });
    expect(run([A, B, B, C], 3).at(-1)).toEqual({ change: 'moved', pin: C, strikes: 0 });
  });

  it('moveAfter 1 moves on the first failover; a non-positive value behaves like 1', () => {
    expect(run([A, B], 1).at(-1)).toEqual({ change: 'moved', pin: B, strikes: 0 });
    expect(run([A, B], 0).at(-1)).toEqual({ change: 'moved', pin: B, strikes: 0 });
  });

  it('never mutates the state it is given', () => {
    const state = Object.freeze({ pin: A, strikes: 1 });
    expect(() => decidePin(state, B, 5)).not.toThrow();
    expect(state).toEqual({ pin: A, strikes: 1 });
  });

  it('strikes stay below moveAfter whatever the sequence (the invariant the Redis script relies on)', () => {
    const targets = [A, B, C];
    let seed = 7;
    const next = (): number => (seed = (seed * 48271) % 2147483647);
    for (let moveAfter = 1; moveAfter <= 5; moveAfter++) {
      const served = Array.from({ length: 500 }, () => targets[next() % 3]);
      for (const step of run(served, moveAfter)) {
        expect(step.strikes).toBeGreaterThanOrEqual(0);
        expect(step.strikes).toBeLessThan(moveAfter);
      }
    }
  });
});

describe('pin encoding (one Redis hash field per routed target)', () => {
  it.each([
    [{ pin: A, strikes: 0 }, `0 ${A}`],
    [{ pin: B, strikes: 2 }, `2 ${B}`],
    [{ pin: 'p,model with spaces', strikes: 1 }, '1 p,model with spaces'],
  ])('%j ⇄ %s', (state, encoded) => {
    expect(encodePin(state)).toBe(encoded);
    expect(decodePin(encoded)).toEqual(state);
  });

  it.each([null, undefined, '', 'garbage', '1 ', 'x openai,gpt'])('%j decodes to no pin', (value) => {
    expect(decodePin(value)).toBeUndefined();
  });
});
