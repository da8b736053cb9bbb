import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { randomUUID } from 'node:crypto';
import { startGateway, type GatewayUnderTest } from '../support/gateway';

/** A prompt the fake answers as told, unique so the cache never answers it. */
const prompt = (behaviour: object): string => `${randomUUID()} [[fake:${JSON.stringify(behaviour)}]]`;

/** How upstream streams end — cleanly, early, or with an error — as the clients see it. */
describe('upstream stream endings', () => {
  let gw: GatewayUnderTest;
  let anthropic: Anthropic;
  let openai: OpenAI;

  beforeAll(async () => {
    gw = await startGateway();
    anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'client-key', maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
  });
  afterAll(() => gw.stop());

  describe('Anthropic upstream: message_delta then EOF, no message_stop (A-F10, O-F12)', () => {
    const missingStop = { fault: { type: 'missing-done' }, text: 'Complete answer.' };

    it('Anthropic SDK: stream and non-stream get the complete answer', async () => {
      const ask = (content: string) => ({
        model: 'anthropic,claude-fake',
        max_tokens: 64,
        messages: [{ role: 'user' as const, content }],
      });
      const whole = await anthropic.messages.create(ask(prompt(missingStop)));
      const streamed = await anthropic.messages.stream(ask(prompt(missingStop))).finalMessage();
      for (const message of [whole, streamed]) {
        expect(message.content).toEqual([
          expect.objectContaining({ type: 'text', text: 'Complete answer.' }),
        ]);
        expect(message.stop_reason).toBe('end_turn');
        expect(message.usage.output_tokens).toBe(20);
      }
    });

    it('OpenAI SDK: stream and non-stream get the complete answer', async () => {
      const ask = (content: string) => ({
        model: 'anthropic,claude-fake',
        messages: [{ role: 'user' as const, content }],
      });
      const whole = await openai.chat.completions.create(ask(prompt(missingStop)));
      const streamed = await openai.chat.completions.stream(ask(prompt(missingStop))).finalChatCompletion();
      for (const completion of [whole, streamed]) {
        expect(completion.choices[0].message.content).toBe('Complete answer.');
        expect(completion.choices[0].finish_reason).toBe('stop');
      }
    });

    it('a stream cut before message_delta is still an error (stream: error event; non-stream: 5xx)', async () => {
      const cut = { fault: { type: 'cut' }, text: 'This answer is cut halfway through.' };
      const ask = (content: string) => ({
        model: 'anthropic,claude-fake',
        max_tokens: 64,
        messages: [{ role: 'user' as const, content }],
      });
      await expect(anthropic.messages.create(ask(prompt(cut)))).rejects.toMatchObject({ status: 500 });
      await expect(anthropic.messages.stream(ask(prompt(cut))).finalMessage()).rejects.toThrow(
        /ended before message_stop/,
      );
    });
  });
});
