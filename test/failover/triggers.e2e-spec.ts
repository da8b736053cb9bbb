import { GatewayError } from '../../src/protocol/errors';
import { ProviderError } from '../../src/providers/provider.types';
import { startFakeProvider, type FakeProvider } from '../fake-provider';
import { freePort } from '../support/redis-server';
import { calls, provider, startFakes, startHarness, type Harness } from './harness';

/** The text every successful answer carries (the fake's default). */
const text = (events: { type: string }[]): string =>
  events
    .map((e: any) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : ''))
    .join('');

describe('failover triggers (fake providers over HTTP)', () => {
  let fakes: FakeProvider[];
  let h: Harness;
  let deadPort: number;
  let refusing: FakeProvider;
  const chain = ['p1,m1', 'p2,m1', 'p3,m1'];

  beforeAll(async () => {
    fakes = await startFakes(3);
    deadPort = await freePort();
    // Refusing from the start: warm keep-alive sockets would otherwise dodge a fault configured later.
    refusing = await startFakeProvider({ defaults: { fault: { type: 'refuse' } } });
  });
  afterAll(async () => {
    await Promise.all([...fakes, refusing].map((f) => f.close()));
  });
  // A fresh gateway context per test: scores, breakers and cooldowns of one case must not steer the next.
  beforeEach(async () => {
    fakes.forEach((f) => f.reset());
    h = await startHarness({
      providers: [
        provider('p1', fakes[0].url),
        provider('p2', fakes[1].url),
        provider('p3', fakes[2].url),
        provider('dead', `http://127.0.0.1:${deadPort}`),
        provider('refusing', refusing.url),
      ],
      config: { Failover: { timeout: 400, breaker: { consecutiveFailures: 1000, minRequests: 1000 } } },
    });
  });
  afterEach(() => h.close());

  it('429 with retry-after: moves on at once and cools the target down for that long', async () => {
    fakes[0].configure({ fault: { type: 'status', status: 429, retryAfter: 2 } });
    const first = await h.run(chain);
    expect(first.result?.target).toBe('p2,m1');
    expect(text(first.events)).toBe('Hello from fake provider');
    expect(first.attempts.map((a) => [a.target, a.outcome, a.reason, a.status])).toEqual([
      ['p1,m1', 'failed', 'http_429', 429],
      ['p2,m1', 'ok', undefined, undefined],
    ]);
    expect(first.ms).toBeLessThan(1500); // no sleeping for the 2 s retry-after
    const until = h.state.cooldownUntil('p1,m1') ?? 0;
    expect(until - Date.now()).toBeGreaterThan(1000);
    expect(until - Date.now()).toBeLessThanOrEqual(2000);

    // Cooling down: ordered last and skipped without a call.
    const second = await h.run(chain);
    expect(second.result?.target).toBe('p2,m1');
    expect(calls(fakes[0])).toBe(1);
    const alone = await h.run(['p1,m1']);
    expect(alone.attempts).toEqual([{ target: 'p1,m1', outcome: 'skipped', reason: 'cooldown', ms: 0 }]);
    expect(alone.error).toBeInstanceOf(GatewayError);
    expect(alone.error.headers['retry-after']).toBe('2');
    expect(calls(fakes[0])).toBe(1);
    expect(
      h.logs.records.some(
        (r) => r.msg === 'failover' && r.from === 'p1,m1' && r.to === 'p2,m1' && r.reason === 'http_429',
      ),
    ).toBe(true);
    await h.state.coolDown('p1,m1', 0); // no-op: a shorter cooldown never shortens a longer one
    expect(h.state.cooldownUntil('p1,m1')).toBe(until);
  });

  it('429 without retry-after: fails over, no cooldown', async () => {
    fakes[1].configure({ fault: { type: 'status', status: 429 } });
    const out = await h.run(['p2,m2', 'p3,m2']);
    expect(out.result?.target).toBe('p3,m2');
    expect(h.state.cooldownUntil('p2,m2')).toBeUndefined();
    fakes[1].reset();
    expect((await h.run(['p2,m2', 'p3,m2'])).result?.target).toBe('p2,m2');
  });

  it.each([500, 502, 503, 529])('HTTP %i fails over to the next target', async (status) => {
    fakes[2].configure({ fault: { type: 'status', status } });
    const out = await h.run(['p3,m2', 'p2,m2']);
    expect(out.result?.target).toBe('p2,m2');
    expect(out.attempts[0]).toMatchObject({
      target: 'p3,m2',
      outcome: 'failed',
      reason: `http_${status}`,
      status,
    });
    expect(calls(fakes[2])).toBe(1);
    expect(calls(fakes[1])).toBe(1);
  });

  it('connection refused (closed port, and a fake that refuses) fails over', async () => {
    const closed = await h.run(['dead,m1', 'p2,m1']);
    expect(closed.result?.target).toBe('p2,m1');
    expect(closed.attempts[0]).toMatchObject({ target: 'dead,m1', outcome: 'failed', reason: 'connect' });

    const refused = await h.run(['refusing,m1', 'p2,m1']);
    expect(refused.result?.target).toBe('p2,m1');
    expect(refused.attempts[0]).toMatchObject({ reason: 'connect' });
    expect(refusing.refusedConnections()).toBeGreaterThan(0);
  });

  it('reset before headers fails over', async () => {
    fakes[0].configure({ fault: { type: 'reset' } });
    const out = await h.run(['p1,m2', 'p2,m2']);
    expect(out.result?.target).toBe('p2,m2');
    expect(out.attempts[0].reason).toBe('connect');
  });

  it('hang before the first byte: the first-byte deadline fails over and aborts the upstream', async () => {
    fakes[0].configure({ fault: { type: 'hang' } });
    const out = await h.run(['p1,m1', 'p3,m1']);
    expect(out.result?.target).toBe('p3,m1');
    expect(out.attempts[0]).toMatchObject({
      target: 'p1,m1',
      outcome: 'failed',
      reason: 'first_byte_timeout',
      status: 504,
    });
    // Failover.timeout (400 ms, no history yet) + prefill allowance; generous bound for slow CI.
    expect(out.ms).toBeGreaterThanOrEqual(350);
    expect(out.ms).toBeLessThan(3000);
    await fakes[0].waitFor((rs) => rs.some((r) => r.closedByClient), 2000);
  });

  it('stall after the first byte: a terminal timeout_error event, no failover, upstream aborted', async () => {
    const stall = await startHarness({
      providers: [provider('p1', fakes[0].url), provider('p2', fakes[1].url)],
      config: { AdaptiveTimeout: { idle: { maxMs: 300 } } },
    });
    try {
      fakes[0].configure({ fault: { type: 'stall-after-first-byte' } });
      const out = await stall.run(['p1,m1', 'p2,m1']);
      expect(out.result?.target).toBe('p1,m1');
      const last = out.events[out.events.length - 1] as any;
      expect(last).toEqual({
        type: 'error',
        error: { type: 'timeout_error', message: expect.stringMatching(/idle deadline of 300 ms/) },
      });
      expect(out.events.some((e) => e.type === 'message_stop')).toBe(false);
      expect(calls(fakes[1])).toBe(0);
      expect(out.ms).toBeLessThan(3000);
      await fakes[0].waitFor((rs) => rs.some((r) => r.closedByClient), 2000);
    } finally {
      await stall.close();
    }
  });

  it('a stream cut after the first event ends with an error event; a cut or malformed non-stream body fails over', async () => {
    fakes[0].configure({ fault: { type: 'cut' } });
    const cut = await h.run(['p1,m1', 'p2,m1']);
    expect(cut.result?.target).toBe('p1,m1');
    expect(cut.events.at(-1)).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(cut.events.some((e) => e.type === 'message_stop')).toBe(false);
    expect(calls(fakes[1])).toBe(0);

    for (const type of ['cut', 'malformed'] as const) {
      fakes[0].configure({ fault: { type } });
      const body = await h.run(['p1,m2', 'p2,m2'], { stream: false });
      expect(body.result?.target).toBe('p2,m2');
      expect(body.attempts[0]).toMatchObject({ target: 'p1,m2', reason: 'protocol', status: 502 });
    }
  });

  it('a non-retryable 400 is returned at once; 401 also flags the key', async () => {
    fakes[0].configure({ fault: { type: 'status', status: 400 } });
    const bad = await h.run(['p1,m2', 'p2,m2']);
    expect(bad.error).toBeInstanceOf(ProviderError);
    expect(bad.error.status).toBe(400);
    expect(calls(fakes[1])).toBe(0);

    fakes[0].configure({ fault: { type: 'status', status: 401 } });
    await h.run(['p1,m2', 'p2,m2']);
    const again = await h.run(['p1,m2', 'p2,m2']);
    expect(again.error.status).toBe(401);
    expect(h.scores.keyStatus('p1')).toMatchObject({ status: 401 });
    expect(h.logs.records.filter((r) => r.msg === 'provider rejected its API key')).toHaveLength(1);
    expect(h.logs.records.find((r) => r.msg === 'provider rejected its API key')?.level).toBe(50);
    fakes[0].reset();
    await h.run(['p1,m2']);
    expect(h.scores.keyStatus('p1')).toBeUndefined();
  });

  it('a context-window 400 moves to the long-context target', async () => {
    const body = {
      error: { type: 'invalid_request_error', message: "This model's maximum context length is 8192 tokens" },
    };
    fakes[0].configure({ fault: { type: 'status', status: 400, body } });
    const out = await h.run(['p1,m1', 'p2,m1'], { longContextTarget: 'p3,m2' });
    expect(out.result?.target).toBe('p3,m2');
    expect(out.attempts.map((a) => a.reason ?? a.outcome)).toEqual(['context_window', 'ok']);
    expect(calls(fakes[1])).toBe(0);
    const none = await h.run(['p1,m1', 'p2,m1']);
    expect(none.error.status).toBe(400); // nowhere bigger to go
  });

  it('an upstream whose first event is an error fails over', async () => {
    const out = await h.run(['p1,m1', 'p2,m1'], {
      attempt: async (target) => {
        if (target === 'p1,m1') {
          return (async function* () {
            yield {
              type: 'error' as const,
              error: { type: 'overloaded_error' as const, message: 'Overloaded' },
            };
          })();
        }
        return (async function* () {
          yield { type: 'message_stop' as const };
        })();
      },
    });
    expect(out.result?.target).toBe('p2,m1');
    expect(out.attempts[0]).toMatchObject({ reason: 'first_event_error', status: 529 });
  });

  it('the last failure is rethrown when every attempt fails (a 429 keeps its retry-after)', async () => {
    fakes[0].configure({ fault: { type: 'status', status: 503 } });
    fakes[1].configure({ fault: { type: 'status', status: 429, retryAfter: 1 } });
    const out = await h.run(['p1,m2', 'p2,m1']);
    expect(out.error).toBeInstanceOf(ProviderError);
    expect(out.error.status).toBe(429);
    expect(out.error.retryAfterMs).toBe(1000);
    expect(out.attempts.map((a) => a.status)).toEqual([503, 429]);
  });

  it('caps calls at 1 + maxRetries', async () => {
    for (const f of fakes) {
      f.configure({ fault: { type: 'status', status: 500 } });
    }
    const out = await h.run(['p1,m1', 'p2,m1', 'p3,m1', 'p1,m2', 'p2,m2']);
    expect(out.attempts).toHaveLength(4); // maxRetries: 3
    expect(out.error.status).toBe(500);
  });

  it('the client going away stops the chain (no failover, nothing counted against the target)', async () => {
    fakes[0].configure({ fault: { type: 'hang' } });
    const client = new AbortController();
    setTimeout(() => client.abort(), 100);
    const out = await h.run(['p1,m1', 'p2,m1'], { signal: client.signal });
    expect(out.error.kind).toBe('abort');
    expect(calls(fakes[1])).toBe(0);
    expect(out.ms).toBeLessThan(1000);
  });
  it('an answer cut halfway: a client that takes it whole is failed over, a streaming client gets the terminal error', async () => {
    fakes[0].configure({ fault: { type: 'cut' }, chunkCount: 6 });
    const whole = await h.run(['p1,m1', 'p2,m1'], { wholeAnswer: true });
    expect(whole.error).toBeUndefined();
    expect(whole.result?.target).toBe('p2,m1');
    expect(text(whole.events)).toBe('Hello from fake provider');
    expect(whole.events.some((e) => e.type === 'error')).toBe(false);
    expect(whole.attempts.map((a) => [a.target, a.outcome, a.reason])).toEqual([
      ['p1,m1', 'failed', 'mid_answer'],
      ['p2,m1', 'ok', undefined],
    ]);

    // A streaming client already has the first events: the break can only end its stream with an error.
    const streamed = await h.run(['p1,m1', 'p2,m1']);
    expect(streamed.result?.target).toBe('p1,m1');
    expect(streamed.events[streamed.events.length - 1].type).toBe('error');
    expect(calls(fakes[1])).toBe(1);
  });

  it('mid_answer left out of Failover.triggers: the whole-answer client gets the broken answer, no failover', async () => {
    await h.close();
    h = await startHarness({
      providers: [provider('p1', fakes[0].url), provider('p2', fakes[1].url)],
      config: { Failover: { triggers: ['connect', 'http_503'] } },
    });
    fakes[0].configure({ fault: { type: 'cut' }, chunkCount: 6 });
    const whole = await h.run(['p1,m1', 'p2,m1'], { wholeAnswer: true });
    expect(whole.result?.target).toBe('p1,m1');
    expect(whole.events[whole.events.length - 1].type).toBe('error');
    expect(calls(fakes[1])).toBe(0);
  });
});
