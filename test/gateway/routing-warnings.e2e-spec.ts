import { startGateway, type GatewayUnderTest } from '../support/gateway';

// Its own file: boot-time log lines go to the logger of the first app a test process creates.
describe('Router slots routing will skip (CCR sent them upstream anyway)', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    // A CCR file often names a model its provider does not list, and a slot may be misspelt.
    gw = await startGateway({
      router: { think: 'anthropic,claude-opus-fake', websearch: 'gemini,gemini-fake' },
      logLevel: 'warn',
    });
  });
  afterAll(async () => {
    await gw.stop();
  });

  it('are named in a warning at boot, and the request they would have taken goes on to the next rule', async () => {
    const warnings = gw.logs.records.filter((r) => r.level === 40).map((r) => String(r.msg));
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringContaining('Router.think: "anthropic,claude-opus-fake" names model "claude-opus-fake"'),
        expect.stringContaining('Router.websearch is not a scenario'),
      ]),
    );
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: 'claude-sonnet-4-5',
        max_tokens: 4096,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        messages: [{ role: 'user', content: 'ponder' }],
      }),
    });
    expect(res.status).toBe(200);
    expect([res.headers.get('x-switchyard-route'), res.headers.get('x-switchyard-target')]).toEqual([
      'default',
      'openai,gpt-fake',
    ]);
    await res.text();
  });
});
