import { SECRETS, startReloadRig, type ReloadRig, type UserConfig } from './support';

/** Rate limits and timeouts are read from the swapped configuration by the next request. */
describe('reloaded limits and timeouts', () => {
  let rig: ReloadRig;

  beforeAll(async () => {
    rig = await startReloadRig({ alpha: { firstByteDelayMs: 600 } });
  });
  afterAll(() => rig.stop());

  const apply = async (extra: UserConfig): Promise<void> => {
    rig.save(rig.config(extra));
    const res = await rig.api('POST', '/api/config/reload');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { result: string }).result).toBe('applied');
  };

  let sent = 0;
  const stream = (): Promise<Response> =>
    fetch(`${rig.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': SECRETS.gateway },
      body: JSON.stringify({
        model: 'claude-sonnet-4',
        max_tokens: 50,
        stream: true,
        messages: [{ role: 'user', content: `Stream ${++sent}` }],
      }),
    });

  it('client rate limits switch on, and off again', async () => {
    expect((await rig.message()).status).toBe(200);
    expect((await rig.message()).status).toBe(200);
    await apply({ RateLimit: { enabled: true, client: { rpm: 1, tpm: 0 } } });
    expect((await rig.message()).status).toBe(200);
    const refused = await rig.message();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).not.toBeNull();
    await apply({ RateLimit: { enabled: false } });
    expect((await rig.message()).status).toBe(200);
  });

  it('a shorter first-byte timeout fails the slow provider fast; the old one lets it answer', async () => {
    const ok = await stream();
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('message_stop');

    await apply({ Failover: { timeout: 100, maxRetries: 0 } });
    const timedOut = await stream();
    expect(timedOut.status).toBe(504);
    expect(((await timedOut.json()) as { error: { type: string } }).error.type).toBe('timeout_error');

    await apply({ Failover: { timeout: 5000, maxRetries: 0 } });
    const again = await stream();
    expect(again.status).toBe(200);
    expect(await again.text()).toContain('message_stop');
  });
});
