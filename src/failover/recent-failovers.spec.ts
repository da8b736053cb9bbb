import { RecentFailovers } from './recent-failovers';

describe('RecentFailovers', () => {
  const ev = (i: number) => ({ at: i, from: `p${i},m`, to: 'q,m', reason: 'http_503' });

  it('lists newest first', () => {
    const r = new RecentFailovers(5);
    [1, 2, 3].forEach((i) => r.push(ev(i)));
    expect(r.list().map((e) => e.at)).toEqual([3, 2, 1]);
  });

  it('keeps only the last `capacity` events however many come', () => {
    const r = new RecentFailovers(4);
    for (let i = 1; i <= 1000; i++) {
      r.push(ev(i));
    }
    expect(r.list().map((e) => e.at)).toEqual([1000, 999, 998, 997]);
    r.push(ev(1001));
    expect(r.list().map((e) => e.at)).toEqual([1001, 1000, 999, 998]);
  });

  it('hands out copies', () => {
    const r = new RecentFailovers(2);
    r.push(ev(1));
    r.list()[0].reason = 'changed';
    expect(r.list()[0].reason).toBe('http_503');
  });
});
