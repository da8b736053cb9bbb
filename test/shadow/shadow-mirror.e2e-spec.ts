import { DEFAULT_TEXT } from '../fake-provider';
import { KEY, TRIAL, comparisons, eventually, prompt, startShadowRig, type ShadowRig } from './support';

const TRIAL_TEXT = 'An answer from the trial provider';

describe('shadow runs: the client gets the primary, the trial target gets the copy', () => {
  let rig: ShadowRig;

  beforeAll(async () => {
    rig = await startShadowRig({
      // The trial answers differently, later and longer: every difference has a known sign.
      trial: { text: TRIAL_TEXT, firstByteDelayMs: 150, usage: { input: 10, output: 30 } },
    });
  });
  afterAll(() => rig.stop());
  beforeEach(async () => {
    await rig.api('DELETE', '/api/shadow');
  });

  it('Anthropic SDK, non-stream: the primary answer only; the copy reached the trial and was compared', async () => {
    const msg = await rig.anthropic.messages.create({
      model: 'claude-sonnet-4',
      max_tokens: 100,
      messages: [{ role: 'user', content: prompt('non-stream') }],
    });
    expect(msg.content).toEqual([expect.objectContaining({ type: 'text', text: DEFAULT_TEXT })]);
    expect(msg.usage.output_tokens).toBe(20);

    const view = await comparisons(rig, 1);
    expect(rig.trial.count({ api: 'openai', model: 'trial-fake' })).toBe(1);
    const [c] = view.recent;
    expect(c).toMatchObject({
      scenario: 'default',
      variant: { target: TRIAL, features: {} },
      primary: {
        target: 'openai,gpt-fake',
        outcome: 'ok',
        status: 200,
        outputTokens: 20,
        stopReason: 'end_turn',
      },
      shadow: {
        target: TRIAL,
        outcome: 'ok',
        status: 200,
        outputTokens: 30,
        stopReason: 'end_turn',
        cache: false,
      },
      diff: { outputTokens: 10, sameOutcome: true, sameStopReason: true, sameText: false },
    });
    // The trial's configured first-byte delay is a floor for its side, measured from the same start.
    expect(c.shadow.ttfbMs).toBeGreaterThanOrEqual(150);
    expect(typeof c.diff.ttfbMs).toBe('number');
    expect(typeof c.diff.durationMs).toBe('number');
    expect(view.counters).toMatchObject({ sampled: 1, mirrored: 1, completed: 1, failed: 0 });
    expect(view.aggregates).toMatchObject({
      comparisons: 1,
      outputTokenDiff: { n: 1, mean: 10 },
      outcomeMismatchRate: 0,
      textMismatchRate: 1,
    });
  });

  it('Anthropic SDK, stream: the event stream is the primary one', async () => {
    const stream = rig.anthropic.messages.stream({
      model: 'claude-sonnet-4',
      max_tokens: 100,
      messages: [{ role: 'user', content: prompt('stream') }],
    });
    const types: string[] = [];
    stream.on('streamEvent', (ev) => types.push(ev.type));
    const final = await stream.finalMessage();
    expect(final.content).toEqual([expect.objectContaining({ type: 'text', text: DEFAULT_TEXT })]);
    expect(final.usage.output_tokens).toBe(20);
    expect(types[0]).toBe('message_start');
    expect(types[types.length - 1]).toBe('message_stop');
    const [c] = (await comparisons(rig, 1)).recent;
    expect(c.primary).toMatchObject({ outcome: 'ok', outputTokens: 20 });
    expect(c.shadow).toMatchObject({ outcome: 'ok', outputTokens: 30, target: TRIAL });
  });

  it('OpenAI SDK, non-stream and stream: the primary answer only', async () => {
    const res = await rig.openai.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: prompt('openai') }],
    });
    expect(res.choices[0].message.content).toBe(DEFAULT_TEXT);
    expect(res.usage?.completion_tokens).toBe(20);

    const stream = await rig.openai.chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: prompt('openai stream') }],
    });
    let text = '';
    let completion: number | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      completion = chunk.usage?.completion_tokens ?? completion;
    }
    expect(text).toBe(DEFAULT_TEXT);
    expect(completion).toBe(20);
    const view = await comparisons(rig, 2);
    expect(view.recent.every((c) => c.shadow.outcome === 'ok' && c.diff.outputTokens === 10)).toBe(true);
    expect(rig.trial.count({ api: 'openai' })).toBeGreaterThanOrEqual(2);
  });

  it('count_tokens is never mirrored', async () => {
    const before = rig.trial.requests.length;
    const counted = await rig.anthropic.messages.countTokens({
      model: 'claude-sonnet-4',
      messages: [{ role: 'user', content: prompt('count') }],
    });
    expect(counted.input_tokens).toBeGreaterThan(0);
    const view = await rig.view();
    expect(view.counters.sampled).toBe(0);
    expect(rig.trial.requests.length).toBe(before);
  });

  it('/api/shadow needs the API key; DELETE resets the numbers, not the metrics', async () => {
    await rig.anthropic.messages.create({
      model: 'claude-sonnet-4',
      max_tokens: 50,
      messages: [{ role: 'user', content: prompt('metrics') }],
    });
    await comparisons(rig, 1);
    expect((await rig.api('GET', '/api/shadow', { key: null })).status).toBe(401);
    expect((await rig.api('DELETE', '/api/shadow', { key: null })).status).toBe(401);
    expect((await rig.api('GET', '/api/shadow?limit=x')).status).toBe(400);

    const view = await rig.view('?limit=0');
    expect(view.recent).toEqual([]);
    expect(view.config).toMatchObject({ enabled: true, share: 1, target: TRIAL, unknownFeatures: [] });
    expect(typeof view.eventLoopLagMs).toBe('number');

    const metrics = await (await rig.api('GET', '/metrics')).text();
    expect(metrics).toMatch(/switchyard_shadow_requests_total\{result="completed"\} [1-9]/);
    expect(metrics).toContain('switchyard_shadow_dropped_total{reason="concurrency"} 0');
    expect(metrics).toMatch(/switchyard_shadow_latency_diff_seconds_count\{phase="ttfb"\} [1-9]/);
    expect(metrics).toMatch(/switchyard_shadow_output_token_diff_bucket\{le="16"\} [1-9]/);
    expect(metrics).toMatch(/switchyard_shadow_output_token_diff_bucket\{le="4"\} 0/);

    expect((await rig.api('DELETE', '/api/shadow')).status).toBe(204);
    const after = await rig.view();
    expect(after.counters).toMatchObject({ sampled: 0, mirrored: 0, completed: 0 });
    expect(after.recent).toEqual([]);
    expect(await (await rig.api('GET', '/metrics')).text()).toMatch(
      /switchyard_shadow_requests_total\{result="completed"\} [1-9]/,
    );
  });

  it('share 0 or enabled false mirrors nothing (read per request: a reload applies at once)', async () => {
    const before = rig.trial.requests.length;
    rig.setShadow({ share: 0 });
    try {
      await rig.anthropic.messages.create({
        model: 'claude-sonnet-4',
        max_tokens: 50,
        messages: [{ role: 'user', content: prompt('share 0') }],
      });
      rig.setShadow({ share: 1, enabled: false });
      await rig.openai.chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: prompt('disabled') }],
      });
    } finally {
      rig.setShadow({ share: 1, enabled: true });
    }
    const view = await rig.view();
    expect(view.counters.sampled).toBe(0);
    expect(view.recent).toEqual([]);
    expect(rig.trial.requests.length).toBe(before);

    // Back on: mirrored again.
    await rig.anthropic.messages.create({
      model: 'claude-sonnet-4',
      max_tokens: 50,
      messages: [{ role: 'user', content: prompt('on again') }],
    });
    await eventually(() => rig.trial.requests.length === before + 1);
  });
});

describe('shadow runs without a target: the same target, a copy of its own', () => {
  let rig: ShadowRig;

  beforeAll(async () => {
    rig = await startShadowRig({
      shadow: { target: undefined },
      config: { Cache: { enabled: true }, Dedup: { enabled: true } },
    });
  });
  afterAll(() => rig.stop());

  it('the copy calls upstream itself (no coalescing with the primary) and never writes the cache', async () => {
    const before = rig.fake.count({ api: 'openai', model: 'gpt-fake' });
    const storesBefore = await cacheStores(rig);
    const content = prompt('same target');
    const msg = await rig.anthropic.messages.create({
      model: 'claude-sonnet-4',
      max_tokens: 50,
      messages: [{ role: 'user', content }],
    });
    expect(msg.content).toEqual([expect.objectContaining({ text: DEFAULT_TEXT })]);
    const [c] = (await comparisons(rig, 1)).recent;
    // Identical twins in flight at once: were the copy coalesced, the fake would have seen one call.
    expect(rig.fake.count({ api: 'openai', model: 'gpt-fake' }) - before).toBe(2);
    expect(rig.trial.requests).toHaveLength(0);
    expect(c).toMatchObject({
      variant: { features: {} },
      primary: { target: 'openai,gpt-fake', outcome: 'ok', cache: false },
      shadow: { target: 'openai,gpt-fake', outcome: 'ok', cache: false },
      diff: { sameOutcome: true, sameStopReason: true, sameText: true, outputTokens: 0 },
    });
    expect(c.variant.target).toBeUndefined();
    // One entry stored: the primary's.
    await eventually(async () => (await cacheStores(rig)) === storesBefore + 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(await cacheStores(rig)).toBe(storesBefore + 1);
  });

  it('a copy whose features turn the cache off ignores an entry the primary is served from', async () => {
    const content = prompt('cached');
    const ask = () =>
      rig.anthropic.messages
        .create({ model: 'claude-sonnet-4', max_tokens: 50, messages: [{ role: 'user', content }] })
        .withResponse();
    await ask();
    await comparisons(rig, 1);
    await rig.api('DELETE', '/api/shadow');
    rig.setShadow({ features: { cache: false } });
    try {
      const { response } = await ask();
      expect(response.headers.get('x-switchyard-cache')).toBe('HIT');
      const [c] = (await comparisons(rig, 1)).recent;
      expect(c.variant.features).toEqual({ cache: false });
      expect(c.primary.cache).toBe(true);
      expect(c.shadow).toMatchObject({ cache: false, outcome: 'ok' });
      expect(c.diff.sameText).toBe(true);
    } finally {
      rig.setShadow({ features: {} });
    }
  });
});

async function cacheStores(rig: ShadowRig): Promise<number> {
  const res = await fetch(`${rig.url}/api/cache/stats`, { headers: { 'x-api-key': KEY } });
  return ((await res.json()) as { stores: number }).stores;
}
