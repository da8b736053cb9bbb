import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { randomUUID } from 'node:crypto';
import { startGateway, type GatewayUnderTest } from '../support/gateway';

/** A prompt the fake answers as told (a `[[fake:…]]` directive), unique so the cache never answers it. */
const prompt = (behaviour: object): string => `${randomUUID()} [[fake:${JSON.stringify(behaviour)}]]`;

const NOW_TOOL: OpenAI.Chat.Completions.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'current_time',
    description: 'The time now',
    parameters: { type: 'object', properties: {} },
  },
};

describe('OpenAI answers converted from canonical events (OpenAI SDK)', () => {
  let gw: GatewayUnderTest;
  let client: OpenAI;

  beforeAll(async () => {
    gw = await startGateway();
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
  });
  afterAll(() => gw.stop());

  describe('a tool call without arguments (O-F1)', () => {
    // The real Anthropic wire shape for a tool without parameters: input {} in the start, one empty delta.
    const noArgs = { toolCall: { name: 'current_time', arguments: {}, argumentsText: '' } };

    it.each(['anthropic,claude-fake', 'openai,gpt-fake', 'gemini,gemini-fake'])(
      'streamed from %s, the SDK-assembled arguments are "{}", as in the non-stream answer',
      async (model) => {
        const content = prompt(noArgs);
        const stream = client.chat.completions.stream({
          model,
          messages: [{ role: 'user', content }],
          tools: [NOW_TOOL],
        });
        const streamed = await stream.finalChatCompletion();
        const call = streamed.choices[0].message
          .tool_calls?.[0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
        expect(call.function).toEqual({ name: 'current_time', arguments: '{}' });
        expect(streamed.choices[0].finish_reason).toBe('tool_calls');

        const whole = await client.chat.completions.create({
          model,
          messages: [{ role: 'user', content: prompt(noArgs) }],
          tools: [NOW_TOOL],
        });
        const wholeCall = whole.choices[0].message
          .tool_calls?.[0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
        expect(wholeCall.function.arguments).toBe('{}');
      },
    );

    it('runTools with stream:true calls the tool (its JSON.parse of the arguments succeeds)', async () => {
      const calls: unknown[] = [];
      const runner = client.chat.completions.runTools({
        model: 'anthropic,claude-fake',
        stream: true,
        messages: [{ role: 'user', content: prompt(noArgs) }],
        tools: [
          {
            type: 'function',
            function: {
              name: 'current_time',
              description: 'The time now',
              parameters: { type: 'object', properties: {} },
              parse: JSON.parse,
              function: (args: unknown) => {
                calls.push(args);
                return 'noon';
              },
            },
          },
        ],
      });
      const content = await runner.finalContent();
      expect(calls).toEqual([{}]);
      expect(content).toContain('Tool result received: noon');
    });
  });

  describe('a tool call cut off by max_tokens (O-F2)', () => {
    const partial = '{"city": "Par';
    const cut = {
      toolCall: { name: 'get_weather', arguments: {}, argumentsText: partial },
      finish: 'length',
    };
    const weather: OpenAI.Chat.Completions.ChatCompletionTool = {
      type: 'function',
      function: {
        name: 'get_weather',
        parameters: { type: 'object', properties: { city: { type: 'string' } } },
      },
    };

    it.each(['anthropic,claude-fake', 'openai,gpt-fake'])(
      'from %s: stream and non-stream both say finish_reason "length" with the partial arguments',
      async (model) => {
        const stream = client.chat.completions.stream({
          model,
          messages: [{ role: 'user', content: prompt(cut) }],
          tools: [weather],
        });
        const streamed = (await stream.finalChatCompletion()).choices[0];
        const whole = (
          await client.chat.completions.create({
            model,
            messages: [{ role: 'user', content: prompt(cut) }],
            tools: [weather],
          })
        ).choices[0];
        for (const choice of [streamed, whole]) {
          expect(choice.finish_reason).toBe('length');
          const call = choice.message.tool_calls?.[0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
          expect(call.function).toEqual({ name: 'get_weather', arguments: partial });
        }
      },
    );

    it.each(['anthropic,claude-fake', 'openai,gpt-fake'])(
      'from %s to an Anthropic client: stop_reason stays max_tokens, stream and non-stream',
      async (model) => {
        const anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'client-key', maxRetries: 0 });
        const tools: Anthropic.Tool[] = [
          { name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
        ];
        const whole = await anthropic.messages.create({
          model,
          max_tokens: 64,
          messages: [{ role: 'user', content: prompt(cut) }],
          tools,
        });
        const streamed = await anthropic.messages
          .stream({ model, max_tokens: 64, messages: [{ role: 'user', content: prompt(cut) }], tools })
          .finalMessage();
        for (const message of [whole, streamed]) {
          expect(message.stop_reason).toBe('max_tokens');
          expect(message.content.at(-1)).toMatchObject({ type: 'tool_use', name: 'get_weather' });
        }
      },
    );
  });

  describe('refusals (O-F8)', () => {
    const refusal = { refusal: 'I cannot help with that.' };

    it('an OpenAI upstream refusal reaches the OpenAI client as message.refusal / delta.refusal, finish stop', async () => {
      const stream = client.chat.completions.stream({
        model: 'openai,gpt-fake',
        messages: [{ role: 'user', content: prompt(refusal) }],
      });
      const refusalDeltas: string[] = [];
      stream.on('refusal.delta', ({ delta }) => refusalDeltas.push(delta));
      const streamed = (await stream.finalChatCompletion()).choices[0];
      expect(refusalDeltas.join('')).toBe('I cannot help with that.');
      const whole = (
        await client.chat.completions.create({
          model: 'openai,gpt-fake',
          messages: [{ role: 'user', content: prompt(refusal) }],
        })
      ).choices[0];
      for (const choice of [streamed, whole]) {
        expect(choice.message.refusal).toBe('I cannot help with that.');
        expect(choice.message.content).toBeNull();
        expect(choice.finish_reason).toBe('stop');
      }
    });

    it('an Anthropic stop_reason "refusal" reaches the OpenAI client as content_filter + refusal (its explanation)', async () => {
      const stream = client.chat.completions.stream({
        model: 'anthropic,claude-fake',
        messages: [{ role: 'user', content: prompt(refusal) }],
      });
      const streamed = (await stream.finalChatCompletion()).choices[0];
      const whole = (
        await client.chat.completions.create({
          model: 'anthropic,claude-fake',
          messages: [{ role: 'user', content: prompt(refusal) }],
        })
      ).choices[0];
      for (const choice of [streamed, whole]) {
        expect(choice.finish_reason).toBe('content_filter');
        expect(choice.message.refusal).toBe('I cannot help with that.');
      }
    });

    it('Anthropic clients keep stop_reason "refusal", and never see the internal refusal mark', async () => {
      const anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'client-key', maxRetries: 0 });
      const ask = { max_tokens: 64, messages: [{ role: 'user' as const, content: prompt(refusal) }] };
      for (const model of ['anthropic,claude-fake', 'gemini,gemini-fake']) {
        expect((await anthropic.messages.create({ model, ...ask })).stop_reason).toBe('refusal');
        expect((await anthropic.messages.stream({ model, ...ask }).finalMessage()).stop_reason).toBe(
          'refusal',
        );
      }
      // An OpenAI upstream's refusal is the model's own answer text (Claude's own refusals end with end_turn).
      const raw = await fetch(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'openai,gpt-fake', stream: true, ...ask }),
      });
      const sse = await raw.text();
      expect(sse).toContain('I cannot');
      expect(sse).not.toContain('"refusal"');
      const whole = await anthropic.messages.create({ model: 'openai,gpt-fake', ...ask });
      expect(whole.content).toEqual([
        expect.objectContaining({ type: 'text', text: 'I cannot help with that.' }),
      ]);
      expect(whole.stop_reason).toBe('end_turn');
    });
  });
});
