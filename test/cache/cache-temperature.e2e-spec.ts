import OpenAI from 'openai';
import { randomUUID } from 'node:crypto';
import { startGateway, type GatewayUnderTest } from '../support/gateway';

/**
 * Cache.skipWhenTemperatureAbove judges the temperature the client sent: an OpenAI client's 0–2 value, not the
 * canonical one clamped to Anthropic's 0–1 (which made 1.7 look like 1).
 */
describe('Cache.skipWhenTemperatureAbove (memory tier, OpenAI SDK)', () => {
  let gw: GatewayUnderTest;
  let client: OpenAI;
  beforeAll(async () => {
    gw = await startGateway({ config: { Cache: { enabled: true, skipWhenTemperatureAbove: 1.2 } } });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'k', maxRetries: 0 });
  });
  afterAll(() => gw.stop());

  const ask = async (content: string, temperature: number): Promise<string | null> => {
    const { response } = await client.chat.completions
      .create({ model: 'openai,gpt-fake', temperature, messages: [{ role: 'user', content }] })
      .withResponse();
    return response.headers.get('x-switchyard-cache');
  };

  it('bypasses the cache above the limit, on the value the OpenAI client sent', async () => {
    const hot = `hot ${randomUUID()}`;
    expect(await ask(hot, 1.7)).toBe('BYPASS');
    expect(await ask(hot, 1.7)).toBe('BYPASS');
    const cool = `cool ${randomUUID()}`;
    expect(await ask(cool, 0.2)).toBe('MISS');
    expect(await ask(cool, 0.2)).toBe('HIT');
  });
});
