import { SECRETS, provider, startReloadRig, type ReloadRig, type UserConfig } from './support';

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.includes('data:'))
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? '';
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? '{}') as Record<string, unknown>;
      return { event, data };
    });
}

const TEXT = 'one two three four five six seven eight nine ten';

/**
 * A slow stream from `alpha` is read up to its first text delta, the configuration changes under it, and the
 * rest must still arrive complete: the request keeps the adapter and the pool it started with.
 */
describe('a reload while a stream is in flight', () => {
  let rig: ReloadRig;

  beforeAll(async () => {
    rig = await startReloadRig({ alpha: { text: TEXT, chunkCount: 10, chunkGapMs: 120 } });
  });
  afterAll(() => rig.stop());

  const cases: Array<[string, (r: ReloadRig) => UserConfig]> = [
    [
      'removes its provider',
      (r) =>
        r.config({
          Providers: [provider('beta', r.beta, 'b-model', SECRETS.beta)],
          Router: { default: 'beta,b-model', longContextThreshold: 60000 },
        }),
    ],
    [
      "changes its provider's endpoint and limits",
      (r) =>
        r.config({
          Providers: [
            { ...provider('alpha', r.beta, 'a-model', SECRETS.alpha), pool: { connections: 2 } },
            provider('beta', r.beta, 'b-model', SECRETS.beta),
          ],
          API_TIMEOUT_MS: 300_000,
          Pools: { autoTune: false },
        }),
    ],
  ];

  it.each(cases)('completes intact when the reload %s', async (name, next) => {
    rig.save(rig.config());
    expect((await rig.api('POST', '/api/config/reload')).status).toBe(200);
    const alphaBefore = rig.alpha.count();

    const res = await fetch(`${rig.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': SECRETS.gateway },
      body: JSON.stringify({
        model: 'claude-sonnet-4',
        max_tokens: 200,
        stream: true,
        // One text per case: the response cache must not answer the second one.
        messages: [{ role: 'user', content: `Tell me a long story; then ${name}` }],
      }),
    });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('content_block_delta')) {
      const { value, done } = await reader.read();
      if (done) {
        throw new Error(`stream ended before its first delta: ${text}`);
      }
      text += decoder.decode(value, { stream: true });
    }
    expect(rig.alpha.inFlight()).toBe(1);

    rig.save(next(rig));
    const reload = await rig.api('POST', '/api/config/reload');
    expect(reload.status).toBe(200);
    expect(((await reload.json()) as { result: string }).result).toBe('applied');

    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        break;
      }
      text += decoder.decode(value, { stream: true });
    }
    const events = parseSse(text);
    const deltas = events
      .filter((e) => e.event === 'content_block_delta')
      .map((e) => (e.data.delta as { text?: string }).text ?? '')
      .join('');
    expect(deltas).toBe(TEXT);
    expect(events[events.length - 1].event).toBe('message_stop');
    expect(events.some((e) => e.event === 'error')).toBe(false);
    expect(rig.alpha.count()).toBe(alphaBefore + 1);
    expect(rig.alpha.requests[rig.alpha.requests.length - 1].closedByClient).toBe(false);

    // The next request follows the new configuration.
    const betaBefore = rig.beta.count();
    expect((await rig.message()).status).toBe(200);
    expect(rig.beta.count()).toBe(betaBefore + 1);
    expect(rig.alpha.count()).toBe(alphaBefore + 1);
  });

  it("a fallback removed while the request runs is skipped: the client gets its routed target's error", async () => {
    rig.save(rig.config({ fallback: { default: ['beta,b-model'] } }));
    expect((await rig.api('POST', '/api/config/reload')).status).toBe(200);
    rig.alpha.configure({ firstByteDelayMs: 600, fault: { type: 'status', status: 503 } });
    const betaBefore = rig.beta.count();
    const alphaBefore = rig.alpha.count();
    try {
      const answer = rig.message();
      await rig.alpha.waitFor(() => rig.alpha.count() > alphaBefore, 5_000);
      rig.save(rig.config({ Providers: [provider('alpha', rig.alpha, 'a-model', SECRETS.alpha)] }));
      expect((await rig.api('POST', '/api/config/reload')).status).toBe(200);
      const res = await answer;
      expect(res.status).toBe(503);
      expect(res.headers.get('x-switchyard-attempts')).toBe('1');
      expect(res.headers.get('x-switchyard-target')).toBe('alpha,a-model');
      expect(rig.beta.count()).toBe(betaBefore);
    } finally {
      rig.alpha.configure({ firstByteDelayMs: 0, fault: null });
    }
  });
});
