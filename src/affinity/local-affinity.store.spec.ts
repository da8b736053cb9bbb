import { LocalAffinityStore } from './local-affinity.store';

const A = 'openai,gpt-fake';
const B = 'anthropic,claude-fake';
const MAIN = 'openai,gpt-fake';
const HAIKU = 'openai,haiku-fake';

function store(o: Partial<ConstructorParameters<typeof LocalAffinityStore>[0]> = {}) {
  const clock = { t: 1_000_000 };
  const s = new LocalAffinityStore({
    maxSessions: 100,
    ttlMs: 60_000,
    maxRoutes: 4,
    now: () => clock.t,
    ...o,
  });
  return { s, clock };
}

describe('LocalAffinityStore', () => {
  it('applies the hysteresis per (session, routed target)', () => {
    const { s } = store();
    expect(s.record('s1', MAIN, A, 2)?.change).toBe('pinned');
    expect(s.record('s1', MAIN, B, 2)).toEqual({ change: 'strike', state: { pin: A, strikes: 1 } });
    expect(s.get('s1', MAIN)).toEqual({ pin: A, strikes: 1 });
    expect(s.record('s1', MAIN, B, 2)).toEqual({ change: 'moved', state: { pin: B, strikes: 0 } });
    expect(s.get('s1', MAIN)?.pin).toBe(B);
  });

  it('keeps a session’s routed targets apart, and sessions apart', () => {
    const { s } = store();
    s.record('s1', MAIN, A, 3);
    s.record('s1', HAIKU, HAIKU, 3);
    s.record('s2', MAIN, B, 3);
    expect(s.get('s1', MAIN)?.pin).toBe(A);
    expect(s.get('s1', HAIKU)?.pin).toBe(HAIKU);
    expect(s.get('s2', MAIN)?.pin).toBe(B);
    expect(s.get('s2', HAIKU)).toBeUndefined();
    expect(s.size).toBe(2);
  });

  it('forgets a session ttl after its last write; every write refreshes the ttl', () => {
    const { s, clock } = store({ ttlMs: 1000 });
    s.record('s1', MAIN, A, 3);
    clock.t += 900;
    expect(s.get('s1', MAIN)?.pin).toBe(A); // a read does not refresh…
    s.record('s1', MAIN, A, 3); // …a write does
    clock.t += 900;
    expect(s.get('s1', MAIN)?.pin).toBe(A);
    clock.t += 101;
    expect(s.get('s1', MAIN)).toBeUndefined();
    expect(s.size).toBe(0);
    expect(s.record('s1', MAIN, B, 3)?.change).toBe('pinned');
  });

  it('holds at most maxSessions sessions, dropping the least recently written', () => {
    const { s } = store({ maxSessions: 50 });
    for (let i = 0; i < 500; i++) {
      s.record(`s${i}`, MAIN, A, 3);
      expect(s.size).toBeLessThanOrEqual(50);
    }
    expect(s.size).toBe(50);
    expect(s.get('s0', MAIN)).toBeUndefined();
    expect(s.get('s499', MAIN)?.pin).toBe(A);
  });

  it('holds at most maxRoutes routed targets per session (a new one is not pinned; known ones still are)', () => {
    const { s } = store({ maxRoutes: 2 });
    expect(s.record('s1', 'r,1', A, 3)).toBeDefined();
    expect(s.record('s1', 'r,2', A, 3)).toBeDefined();
    expect(s.record('s1', 'r,3', A, 3)).toBeUndefined();
    s.put('s1', 'r,4', { pin: A, strikes: 0 });
    expect(s.get('s1', 'r,3')).toBeUndefined();
    expect(s.get('s1', 'r,4')).toBeUndefined();
    expect(s.record('s1', 'r,1', B, 3)?.change).toBe('strike');
  });

  it('put mirrors a state as is; forget removes one route and the session with its last route', () => {
    const { s } = store();
    s.put('s1', MAIN, { pin: B, strikes: 2 });
    s.put('s1', HAIKU, { pin: HAIKU, strikes: 0 });
    expect(s.record('s1', MAIN, A, 3)).toEqual({ change: 'moved', state: { pin: A, strikes: 0 } });
    s.forget('s1', MAIN);
    expect(s.get('s1', MAIN)).toBeUndefined();
    expect(s.size).toBe(1);
    s.forget('s1', HAIKU);
    expect(s.size).toBe(0);
    s.forget('nobody', MAIN);
  });
});
