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

  /** Runs turns until the line is empty (or `maxTurns`), adding `otherMs` of other work between two pumps. */
  async function drive(gate: AdmissionGate, clock: { t: number }, otherMs: number, maxTurns = 200): Promise<number[]> {
    const quotas: number[] = [];
    for (let i = 0; i < maxTurns && gate.waiting > 0; i++) {
      await nextTurn();
      quotas.push(gate.stats().perTurn);
      clock.t += otherMs;
    }
    return quotas;
  }

  it('the quota settles where the started requests take about targetTurnMs of a turn', async () => {
    const clock = { t: 0 };
    const gate = new AdmissionGate({ initialPerTurn: 40, maxPerTurn: 1000, now: () => clock.t });
    gate.targetTurnMs = 10;
    for (let i = 0; i < 600; i++) {
      gate.admit(() => {
        clock.t += 0.5; // each request's work
      });
    }
    const quotas = await drive(gate, clock, 2);
    expect(quotas[0]).toBeLessThan(40); // 40 × 0.5 ms = 20 ms: over the 10 ms target
    expect(quotas.at(-1)).toBeGreaterThanOrEqual(17);
    expect(quotas.at(-1)).toBeLessThanOrEqual(23); // ~20 × 0.5 ms = 10 ms
    expect(gate.waiting).toBe(0);
  });

  it('a turn busy with other work (running streams) still gives new requests as much time: slowed, not starved', async () => {
    const clock = { t: 0 };
    const gate = new AdmissionGate({ initialPerTurn: 4, maxPerTurn: 1000, now: () => clock.t });
    gate.targetTurnMs = 10;
    for (let i = 0; i < 2000; i++) {
      gate.admit(() => {
        clock.t += 0.5;
      });
    }
    const quotas = await drive(gate, clock, 50, 30); // 50 ms of other work in every turn
    // Growth is at most ×2 per turn, then it settles near 50 ms / 0.5 ms = 100 requests per turn.
    expect(quotas[1]).toBeLessThanOrEqual(quotas[0] * 2);
    const settled = quotas.slice(12, 24); // before the line runs short at the end
    expect(Math.min(...settled)).toBeGreaterThanOrEqual(85);
    expect(Math.max(...settled)).toBeLessThanOrEqual(115);
  });

  it('the quota never falls below one request per turn, so the line always moves', async () => {
    const clock = { t: 0 };
    const gate = new AdmissionGate({ initialPerTurn: 8, now: () => clock.t });
    let started = 0;
    for (let i = 0; i < 60; i++) {
      const start = () => {
        started++;
        clock.t += 1000; // far over any budget
      };
      if (gate.admit(start)) {
        start();
      }
    }
    const quotas = await drive(gate, clock, 0, 100);
    expect(gate.waiting).toBe(0);
    expect(started).toBe(60);
    expect(Math.min(...quotas)).toBe(1);
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
