import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { randomUUID } from 'node:crypto';
import { startFakeProvider } from '../fake-provider';
import { fakeProviders, startGateway, type GatewayUnderTest } from '../support/gateway';

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

  describe('error messages name the target once (A-F12, O-F14)', () => {
    let quick: GatewayUnderTest;
    beforeAll(async () => {
      // A short idle deadline, so a stalled upstream fails in well under a second.
      quick = await startGateway({
        config: { AdaptiveTimeout: { idle: { k: 5, minMs: 300, maxMs: 300 } }, Cache: { enabled: false } },
      });
    });
    afterAll(() => quick.stop());

    const stall = { fault: { type: 'stall-after-first-byte' } };
    const occurrences = (text: string, target: string) => text.split(`${target}: `).length - 1;

    it.each(['openai,gpt-fake', 'anthropic,claude-fake'])(
      '%s stalls: the non-stream 504 and the stream error event each say the target once',
      async (target) => {
        const body = (stream: boolean) =>
          JSON.stringify({
            model: target,
            max_tokens: 64,
            stream,
            messages: [{ role: 'user', content: prompt(stall) }],
          });
        const whole = await fetch(`${quick.url}/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: body(false),
        });
        expect(whole.status).toBe(504);
        const message = ((await whole.json()) as { error: { message: string } }).error.message;
        expect(message).toMatch(/idle deadline of \d+ ms exceeded/);
        expect(occurrences(message, target)).toBe(1);

        const oai = new OpenAI({ baseURL: `${quick.url}/v1`, apiKey: 'k', maxRetries: 0 });
        const failed = (await oai.chat.completions
          .create({ model: target, messages: [{ role: 'user', content: prompt(stall) }] })
          .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
        expect(failed.status).toBe(504);
        expect(occurrences(failed.message, target)).toBe(1);

        const streamed = await fetch(`${quick.url}/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: body(true),
        });
        const sse = await streamed.text();
        expect(sse).toContain('event: error');
        expect(occurrences(sse, target)).toBe(1);
      },
    );
  });

  describe('OpenAI upstream whose stream errors before any content (O-F15)', () => {
    // After the role chunk, before any content: an OpenRouter-style in-band error with a status code.
    const quota = { fault: { type: 'stream-error', afterDeltas: 0, code: 429, message: 'quota exceeded' } };

    it('is an HTTP error with the mapped status, not a 200 stream that breaks (both SDKs, stream and not)', async () => {
      const a = { model: 'openai,gpt-fake', max_tokens: 64 };
      const failures = [
        await anthropic.messages
          .create({ ...a, messages: [{ role: 'user', content: prompt(quota) }] })
          .catch((e: unknown) => e),
        await anthropic.messages
          .create({ ...a, stream: true, messages: [{ role: 'user', content: prompt(quota) }] })
          .catch((e: unknown) => e),
        await openai.chat.completions
          .create({ model: a.model, messages: [{ role: 'user', content: prompt(quota) }] })
          .catch((e: unknown) => e),
        await openai.chat.completions
          .create({ model: a.model, stream: true, messages: [{ role: 'user', content: prompt(quota) }] })
          .catch((e: unknown) => e),
      ];
      for (const err of failures) {
        expect(err).toMatchObject({ status: 429 });
        expect((err as Error).message).toContain('quota exceeded');
      }
    });

    it('fails over to the next target before the client has seen a byte', async () => {
      // A second fake whose every stream errors before any content; the gateway's own fake is the backup.
      const flaky = await startFakeProvider({
        defaults: { fault: { type: 'stream-error', afterDeltas: 0, message: 'upstream overloaded' } },
      });
      const failing = await startGateway({
        userConfig: {
          Providers: [
            ...fakeProviders(gw.fake.url),
            { name: 'flaky', api_base_url: `${flaky.url}/v1/chat/completions`, api_key: 'k', models: ['m'] },
          ],
          Cache: { enabled: false },
          Failover: { providers: { primary: 'flaky,m', fallback: ['openai,gpt-fake'] } },
        },
      });
      try {
        const client = new Anthropic({ baseURL: failing.url, apiKey: 'k', maxRetries: 0 });
        const { data, response } = await client.messages
          .stream({
            model: 'flaky,m',
            max_tokens: 64,
            messages: [{ role: 'user', content: prompt({ text: 'Backup.' }) }],
          })
          .withResponse();
        expect(response.headers.get('x-switchyard-target')).toBe('openai,gpt-fake');
        expect(response.headers.get('x-switchyard-attempts')).toBe('2');
        expect((await data.finalMessage()).content).toEqual([expect.objectContaining({ text: 'Backup.' })]);
        expect(flaky.count({ api: 'openai' })).toBe(1);
      } finally {
        await failing.stop();
        await flaky.close();
      }
    });
  });
});
