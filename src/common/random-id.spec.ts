import { randomAlnum, randomHex } from './random-id';

describe('random ids', () => {
  it('has the asked length and alphabet', () => {
    expect(randomHex(12)).toMatch(/^[0-9a-f]{24}$/);
    expect(randomAlnum(18)).toMatch(/^[A-Za-z0-9]{24}$/);
  });

  it('never repeats across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      seen.add(randomAlnum(18)); // 36 KB: several refills of the 4 KB pool
    }
    expect(seen.size).toBe(2000);
  });

  it('serves sizes larger than the pool', () => {
    expect(randomHex(5000)).toHaveLength(10_000);
  });
});
