import { LocalGcra, gcraApply, type GcraBucket } from './gcra';

const MINUTE = 60_000;
const T0 = 1_700_000_000_000;

const rpm = (limit: number, cost = 1, key = 'c:rpm'): GcraBucket => ({ key, limit, periodMs: MINUTE, cost });

/** Runs `n` calls of `bucket` at `now` against one store; returns how many were allowed. */
function burst(store: LocalGcra, bucket: GcraBucket, n: number, now: number): number {
  let allowed = 0;
  for (let i = 0; i < n; i++) {
    if (store.apply([bucket], now, 'check').allowed) {
      allowed++;
    }
  }
  return allowed;
}

describe('gcraApply (pure GCRA math)', () => {
  it('allows a burst of exactly `limit` calls, then refuses with the time until one more fits', () => {
    const store = new LocalGcra();
    expect(burst(store, rpm(3), 3, T0)).toBe(3);
    const denied = store.apply([rpm(3)], T0, 'check');
    expect(denied).toMatchObject({ allowed: false, retryAfterMs: 20_000, limitingIndex: 0, remaining: [0] });
    expect(denied.applied).toEqual([0]);
  });

  it('refills one call per period / limit (fake clock)', () => {
    const store = new LocalGcra();
    burst(store, rpm(3), 3, T0);
    expect(store.apply([rpm(3)], T0 + 19_999, 'check').allowed).toBe(false);
    expect(store.apply([rpm(3)], T0 + 19_999, 'check').retryAfterMs).toBe(1);
    expect(store.apply([rpm(3)], T0 + 20_000, 'check')).toMatchObject({ allowed: true, remaining: [0] });
    expect(store.apply([rpm(3)], T0 + 20_000, 'check').allowed).toBe(false);
    // A whole idle period later the full burst is back.
    expect(burst(store, rpm(3), 4, T0 + 20_000 + MINUTE)).toBe(3);
  });

  it('counts down `remaining` across a burst, and limits that do not divide the period stay exact', () => {
    const store = new LocalGcra();
    const left = Array.from({ length: 7 }, () => store.apply([rpm(7)], T0, 'check').remaining[0]);
    expect(left).toEqual([6, 5, 4, 3, 2, 1, 0]);
    expect(store.apply([rpm(7)], T0, 'check').allowed).toBe(false);
  });

  it('charges a cost in units (tokens) and caps a cost above the limit so the call is not refused forever', () => {
    const tpm = (cost: number): GcraBucket => ({ key: 'c:tpm', limit: 1000, periodMs: MINUTE, cost });
    const store = new LocalGcra();
    expect(store.apply([tpm(600)], T0, 'check')).toMatchObject({ allowed: true, remaining: [400] });
    const refused = store.apply([tpm(600)], T0, 'check');
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBe(12_000); // 200 tokens short at 1000/min
    // 5000 tokens against a 1000 TPM limit: charged as 1000, admitted once the bucket is full again.
    const fresh = new LocalGcra();
    expect(fresh.apply([tpm(5000)], T0, 'check')).toMatchObject({
      allowed: true,
      applied: [1000],
      remaining: [0],
    });
    expect(fresh.apply([tpm(1)], T0, 'check').allowed).toBe(false);
  });

  it('is all-or-nothing across buckets: a call refused on TPM consumes no RPM', () => {
    const store = new LocalGcra();
    const call = (tokens: number): GcraBucket[] => [
      rpm(10),
      { key: 'c:tpm', limit: 100, periodMs: MINUTE, cost: tokens },
    ];
    expect(store.apply(call(90), T0, 'check')).toMatchObject({ allowed: true, remaining: [9, 10] });
    const refused = store.apply(call(50), T0, 'check');
    expect(refused).toMatchObject({ allowed: false, limitingIndex: 1, remaining: [9, 10] });
    expect(store.apply(call(10), T0, 'check')).toMatchObject({ allowed: true, remaining: [8, 0] });
  });

  it('reports the bucket that waits longest as the limiting one', () => {
    const out = gcraApply(
      [T0 + MINUTE, T0 + MINUTE],
      [rpm(2), { key: 'c:tpm', limit: 10, periodMs: MINUTE, cost: 5 }],
      T0,
      'check',
    );
    // Both full: one more call needs 30 s, 5 more tokens too — a tie keeps the first bucket.
    expect(out.outcome).toMatchObject({ allowed: false, limitingIndex: 0, retryAfterMs: 30_000 });
    const tpmWaitsLonger = gcraApply(
      [T0 + MINUTE, T0 + MINUTE],
      [rpm(2), { key: 'c:tpm', limit: 10, periodMs: MINUTE, cost: 6 }],
      T0,
      'check',
    );
    expect(tpmWaitsLonger.outcome).toMatchObject({ limitingIndex: 1, retryAfterMs: 36_000 });
  });

  it('adjust credits back, never below an empty bucket', () => {
    const tpm = (cost: number): GcraBucket => ({ key: 'c:tpm', limit: 1000, periodMs: MINUTE, cost });
    const store = new LocalGcra();
    store.apply([tpm(930)], T0, 'check');
    expect(store.apply([tpm(900)], T0, 'check').allowed).toBe(false);
    // The answer used 30 tokens: 900 come back.
    expect(store.apply([tpm(-900)], T0, 'adjust')).toMatchObject({ allowed: true, remaining: [970] });
    expect(store.apply([tpm(900)], T0, 'check')).toMatchObject({ allowed: true, remaining: [70] });
    // Crediting more than was charged only empties the bucket.
    expect(store.apply([tpm(-50_000)], T0, 'adjust').remaining).toEqual([1000]);
    expect(store.size).toBe(0);
  });

  it('adjust charges a shortfall without refusing, leaving at most one extra period of debt', () => {
    const tpm = (cost: number): GcraBucket => ({ key: 'c:tpm', limit: 1000, periodMs: MINUTE, cost });
    const store = new LocalGcra();
    store.apply([tpm(100)], T0, 'check');
    expect(store.apply([tpm(10_000)], T0, 'adjust')).toMatchObject({ allowed: true, remaining: [0] });
    const refused = store.apply([tpm(1)], T0, 'check');
    expect(refused.retryAfterMs).toBe(MINUTE + 60); // debt capped at 2 periods of TAT: 60 s + 1 token
  });

  it('handles fractional limits (an instance share limit / N)', () => {
    const store = new LocalGcra();
    const share: GcraBucket = { key: 'c:rpm', limit: 5 / 2, periodMs: MINUTE, cost: 1 };
    expect(burst(store, share, 5, T0)).toBe(2);
    // 24 s per call: the third fits once half a call's worth has drained.
    expect(store.apply([share], T0, 'check').retryAfterMs).toBe(12_000);
  });
});

describe('LocalGcra store bound', () => {
  it('never holds more than maxKeys buckets; expired buckets go first, then the least recently written', () => {
    const store = new LocalGcra(100);
    for (let i = 0; i < 1000; i++) {
      store.apply([rpm(10, 1, `k${i}`)], T0, 'check');
      expect(store.size).toBeLessThanOrEqual(100);
    }
    // The most recent bucket survived the evictions: it is still charged.
    expect(store.apply([rpm(10, 1, 'k999')], T0, 'check').remaining).toEqual([8]);
    // An evicted one starts over as empty (the cost of the bound).
    expect(store.apply([rpm(10, 1, 'k0')], T0, 'check').remaining).toEqual([9]);
  });

  it('drops buckets that are empty again instead of keeping them', () => {
    const store = new LocalGcra(10);
    store.apply([rpm(60, 1, 'a')], T0, 'check');
    expect(store.size).toBe(1);
    store.apply([rpm(60, -1, 'a')], T0, 'adjust');
    expect(store.size).toBe(0);
  });
});
