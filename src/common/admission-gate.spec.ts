import { AdmissionGate } from './admission-gate';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Admits `n` requests in one turn; returns the order in which they started (gate-started ones as they run). */
function burst(gate: AdmissionGate, n: number, started: number[], turnOf: Map<number, number>, turn: () => number) {
  for (let i = 0; i < n; i++) {
    const start = () => {
      started.push(i);
      turnOf.set(i, turn());
    };
    if (gate.admit(start)) {
      start();
    }
  }
}

describe('AdmissionGate', () => {
  it('an idle gateway adds nothing: a request under the quota with nobody waiting starts at once', () => {
    const gate = new AdmissionGate({ initialPerTurn: 4 });
    expect(gate.admit(() => undefined)).toBe(true);
    expect(gate.stats()).toMatchObject({ direct: 1, deferred: 0, waiting: 0 });
  });

  it('a burst is spread over loop turns, in arrival order, never more than the quota per turn', async () => {
    let clock = 0;
    const gate = new AdmissionGate({ initialPerTurn: 4, maxPerTurn: 4, now: () => clock });
    const started: number[] = [];
    const turnOf = new Map<number, number>();
    let turn = 0;
    burst(gate, 30, started, turnOf, () => turn);
    expect(started).toEqual([0, 1, 2, 3]);
    expect(gate.stats()).toMatchObject({ direct: 4, deferred: 26, waiting: 26, maxWaiting: 26 });
    while (gate.waiting > 0) {
      turn += 1;
      clock += 1; // short turns: the quota stays at its maximum
      await nextTurn();
    }
    expect(started).toEqual(Array.from({ length: 30 }, (_, i) => i));
    const perTurn = new Map<number, number>();
    for (const t of turnOf.values()) {
      perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
    }
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(4);
    expect(perTurn.size).toBeGreaterThanOrEqual(8); // 30 requests at ≤ 4 per turn
  });

  it('with maxWaitMs, whatever has waited that long starts in the next pump beyond the quota, in order', async () => {
    let clock = 0;
    const gate = new AdmissionGate({ initialPerTurn: 2, maxPerTurn: 2, now: () => clock });
    gate.maxWaitMs = 100;
    const started: number[] = [];
    for (let i = 0; i < 10; i++) {
      if (gate.admit(() => started.push(i))) {
        started.push(i);
      }
    }
    expect(started).toEqual([0, 1]);
    clock += 20; // nobody has waited 100 ms yet: the quota alone
    await nextTurn();
    expect(started).toEqual([0, 1, 2, 3]);
    clock += 100; // everyone still in line is now past the bound
    await nextTurn();
    expect(started).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(gate.waiting).toBe(0);
  });

  it('a request arriving while others wait queues behind them (no overtaking)', async () => {
    const gate = new AdmissionGate({ initialPerTurn: 1, maxPerTurn: 1 });
    const order: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      if (gate.admit(() => order.push(name))) {
        order.push(name);
      }
    }
    await nextTurn();
    // Turn 2: the line is not empty, so a newcomer waits even though the new turn has quota left.
    expect(gate.admit(() => order.push('d'))).toBe(false);
    while (gate.waiting > 0) {
      await nextTurn();
    }
    expect(order).toEqual(['a', 'b', 'c', 'd']);
  });

  it('the quota halves when a turn runs over its target and grows by one while turns stay under it', async () => {
    let clock = 0;
    const gate = new AdmissionGate({ initialPerTurn: 16, maxPerTurn: 20, now: () => clock });
    gate.targetTurnMs = 10;
    for (let i = 0; i < 200; i++) {
      gate.admit(() => undefined);
    }
    await nextTurn(); // first pump: no previous turn to judge, quota unchanged
    expect(gate.stats().perTurn).toBe(16);
    clock += 50; // a long turn
    await nextTurn();
    expect(gate.stats().perTurn).toBe(8);
    clock += 50;
    await nextTurn();
    expect(gate.stats().perTurn).toBe(4);
    for (const expected of [5, 6, 7]) {
      clock += 2; // short turns
      await nextTurn();
      expect(gate.stats().perTurn).toBe(expected);
    }
    for (let i = 0; i < 40 && gate.waiting > 0; i++) {
      clock += 2;
      await nextTurn();
    }
    expect(gate.waiting).toBe(0);
    expect(gate.stats().perTurn).toBeLessThanOrEqual(20);
  });

  it('the quota never falls below one request per turn, so the line always moves', async () => {
    let clock = 0;
    const gate = new AdmissionGate({ initialPerTurn: 2, now: () => clock });
    let started = 0;
    for (let i = 0; i < 10; i++) {
      if (gate.admit(() => started++)) {
        started++;
      }
    }
    for (let i = 0; i < 20 && gate.waiting > 0; i++) {
      clock += 1000; // every turn far over its target
      await nextTurn();
    }
    expect(started).toBe(10);
    expect(gate.stats().perTurn).toBe(1);
  });

  it('turn(): undefined while the turn has quota, then a promise settled in a later turn, in order', async () => {
    const gate = new AdmissionGate({ initialPerTurn: 2, maxPerTurn: 2 });
    const order: number[] = [];
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 5; i++) {
      const t = gate.turn();
      if (t === undefined) {
        order.push(i);
      } else {
        pending.push(t.then(() => void order.push(i)));
      }
    }
    expect(order).toEqual([0, 1]);
    expect(gate.waiting).toBe(3);
    await Promise.all(pending);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(gate.stats()).toMatchObject({ direct: 2, deferred: 3, waiting: 0 });
  });
});
