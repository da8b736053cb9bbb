import { DEFAULT_TEXT } from '../fake-provider';
import { directive } from '../fake-provider/spec-helpers';
import { comparisons, eventually, prompt, startShadowRig, type ShadowRig } from './support';

/** Holds the event loop in 150 ms slices for `ms`, letting one loop turn through between slices. */
async function jam(ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const slice = Date.now() + 150;
    while (Date.now() < slice) {
      // busy
    }
    await new Promise((r) => setImmediate(r));
  }
}

const ask = (rig: ShadowRig, content = prompt('ask')) =>
  rig.anthropic.messages.create({
    model: 'claude-sonnet-4',
    max_tokens: 50,
    messages: [{ role: 'user', content }],
  });

describe('a failing shadow target never reaches the client', () => {
  let rig: ShadowRig;

  beforeAll(async () => {
    rig = await startShadowRig({ trial: { fault: { type: 'status', status: 500 } } });
  });
  afterAll(() => rig.stop());

  it('the client gets the primary; the failure is compared; an opened circuit stops the copies', async () => {
    const msg = await ask(rig);
    expect(msg.content).toEqual([expect.objectContaining({ text: DEFAULT_TEXT })]);
    const [c] = (await comparisons(rig, 1)).recent;
    expect(c.primary).toMatchObject({ outcome: 'ok', status: 200 });
    expect(c.shadow).toMatchObject({ outcome: 'error', status: 500 });
    expect(c.shadow.error).toEqual(expect.any(String));
    expect(c.diff.sameOutcome).toBe(false);

    // The trial's circuit opens after its consecutive failures (Failover.breaker): later copies are dropped.
    for (let i = 0; i < 6; i++) {
      expect((await ask(rig)).content).toEqual([expect.objectContaining({ text: DEFAULT_TEXT })]);
      await eventually(async () => (await rig.view()).inFlight === 0);
    }
    const view = await rig.view();
    expect(view.counters.failed).toBeGreaterThanOrEqual(1);
    expect(view.counters.dropped.circuit_open).toBeGreaterThanOrEqual(1);
    expect(view.counters.failed + view.counters.dropped.circuit_open).toBe(7);
    expect(view.aggregates.outcomeMismatchRate).toBe(1);
  });
});

describe('a slow shadow target is abandoned after Shadow.timeoutMs', () => {
  let rig: ShadowRig;

  beforeAll(async () => {
    rig = await startShadowRig({ trial: { fault: { type: 'hang' } }, shadow: { timeoutMs: 500 } });
  });
  afterAll(() => rig.stop());

  it('the client is answered while the copy hangs; the copy is cut at its deadline', async () => {
    const msg = await ask(rig);
    expect(msg.content).toEqual([expect.objectContaining({ text: DEFAULT_TEXT })]);
    const stream = rig.anthropic.messages.stream({
      model: 'claude-sonnet-4',
      max_tokens: 50,
      messages: [{ role: 'user', content: prompt('slow stream') }],
    });
    expect((await stream.finalMessage()).content).toEqual([expect.objectContaining({ text: DEFAULT_TEXT })]);

    const view = await comparisons(rig, 2);
    expect(view.counters).toMatchObject({ mirrored: 2, timedOut: 2, completed: 0 });
    for (const c of view.recent) {
      expect(c.primary).toMatchObject({ outcome: 'ok', outputTokens: 20 });
      expect(c.shadow).toMatchObject({ outcome: 'timeout', status: 504 });
    }
    // The hanging upstream calls were closed, not left open.
    await eventually(
      () => rig.trial.requests.length === 2 && rig.trial.requests.every((r) => r.closedByClient),
    );
    expect(rig.trial.inFlight()).toBe(0);
  });
});

describe('shadow copies do not count against the client rate limit', () => {
  let rig: ShadowRig;

  beforeAll(async () => {
    rig = await startShadowRig({
      config: { RateLimit: { enabled: true, client: { rpm: 2, tpm: 0 } }, Cache: { enabled: false } },
    });
  });
  afterAll(() => rig.stop());

  it('the client spends its 2 requests per minute on its own requests only', async () => {
    await ask(rig);
    await comparisons(rig, 1);
    await ask(rig);
    await comparisons(rig, 2);
    expect(rig.trial.count({ api: 'openai' })).toBe(2); // both copies ran
    const refused = await rig.api('POST', '/v1/messages', {
      body: {
        model: 'claude-sonnet-4',
        max_tokens: 50,
        messages: [{ role: 'user', content: prompt('third') }],
      },
    });
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { type: string } }).error.type).toBe('rate_limit_error');
    // A refused request never reaches the responder: nothing sampled, nothing sent to the trial.
    expect((await rig.view()).counters.sampled).toBe(2);
    expect(rig.trial.count({ api: 'openai' })).toBe(2);
  });
});

describe('shadow traffic is dropped first under load', () => {
  let rig: ShadowRig;

  beforeAll(async () => {
    rig = await startShadowRig({
      trial: { fault: { type: 'hang' } },
      shadow: { maxConcurrent: 1, maxLagMs: 100 },
      config: { JobQueue: { queues: { interactive: { concurrency: 1 } } }, Cache: { enabled: false } },
    });
  });
  let closed = false;
  afterAll(async () => {
    if (!closed) {
      await rig.close();
    }
    await Promise.all([rig.fake.close(), rig.trial.close()]);
  });

  it('past maxConcurrent copies: dropped and counted', async () => {
    await ask(rig);
    await eventually(() => rig.trial.inFlight() === 1); // the first copy hangs
    await ask(rig);
    await ask(rig);
    const view = await rig.view();
    expect(view.inFlight).toBe(1);
    expect(view.counters).toMatchObject({ sampled: 3 });
    expect(view.counters.dropped.concurrency).toBe(2);
    expect(rig.trial.requests).toHaveLength(1);
    const metrics = await (await rig.api('GET', '/metrics')).text();
    expect(metrics).toContain('switchyard_shadow_dropped_total{reason="concurrency"} 2');
  });

  it('while interactive requests queue: dropped', async () => {
    await rig.api('DELETE', '/api/shadow');
    rig.setShadow({ maxConcurrent: 16 });
    // One slow primary holds the single interactive slot, a second waits behind it.
    const slow = directive({ firstByteDelayMs: 1500 });
    const first = ask(rig, prompt(`hold the slot ${slow}`));
    await eventually(() => rig.fake.inFlight() === 1);
    const second = ask(rig, prompt('wait for the slot'));
    await eventually(async () => {
      const q = (await (await rig.api('GET', '/api/queue')).json()) as {
        depth: { interactive: { local_waiting: number } };
      };
      return q.depth.interactive.local_waiting === 1;
    });
    const third = ask(rig, prompt('arrives while one waits'));
    await Promise.all([first, second, third]);
    const view = await rig.view();
    expect(view.counters.dropped.queue_waiting).toBeGreaterThanOrEqual(1);
  });

  it('while the event loop lags: dropped', async () => {
    await rig.api('DELETE', '/api/shadow');
    await rig.view(); // starts the lag monitor
    // Sustained lag (the gateway runs in this process: these blocks hold its event loop too), then a request
    // while the one-second window still shows it (again if the window rolled over in between).
    await eventually(async () => {
      await jam(1200);
      if ((await rig.view()).eventLoopLagMs <= 100) {
        return false;
      }
      await ask(rig);
      return (await rig.view()).counters.dropped.event_loop_lag >= 1;
    }, 30_000);
    expect((await rig.view()).counters.dropped.event_loop_lag).toBeGreaterThanOrEqual(1);
  });

  it('on shutdown the running copy is aborted', async () => {
    rig.setShadow({ maxLagMs: 60_000 });
    await rig.api('DELETE', '/api/shadow');
    await ask(rig);
    await eventually(async () => (await rig.view()).inFlight >= 1);
    await eventually(() => rig.trial.inFlight() >= 1);
    closed = true;
    await rig.close();
    await eventually(() => rig.trial.inFlight() === 0 && rig.trial.requests.every((r) => r.closedByClient));
  });
});
