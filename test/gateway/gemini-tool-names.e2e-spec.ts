import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { randomUUID } from 'node:crypto';
import { startGateway, type GatewayUnderTest } from '../support/gateway';

/**
 * Gemini limits function names to 64 characters; Claude Code's MCP tools (`mcp__<server>__<tool>`) often
 * exceed it. The gateway shortens them on the way up — declarations, history, forced choice — and maps
 * the model's calls back, as on the OpenAI path (audit A-F7).
 */
describe('Gemini: tool names over 64 characters', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway({ config: { Cache: { enabled: false } } });
  });
  afterAll(() => gw.stop());

  const LONG = 'mcp__some_really_long_server_name__some_really_long_tool_name_that_exceeds_limit_xyz';
  const lastGeminiBody = (): Record<string, any> => {
    const seen = gw.fake.requests.filter((r) => r.api === 'gemini');
    return seen[seen.length - 1].body as Record<string, any>;
  };

  it('Anthropic SDK: a tool loop with a long name, stream and non-stream', async () => {
    const client = new Anthropic({ baseURL: gw.url, apiKey: 'k', maxRetries: 0 });
    const tools: Anthropic.Tool[] = [
      {
        name: LONG,
        description: 'long',
        input_schema: { type: 'object', properties: { city: { type: 'string' } } },
      },
    ];
    const question = { role: 'user' as const, content: `MOCK_TOOL_USE ${randomUUID()}` };
    for (const stream of [false, true]) {
      const params = {
        model: 'gemini,gemini-fake',
        max_tokens: 64,
        tools,
        tool_choice: { type: 'tool' as const, name: LONG },
        messages: [question],
      };
      const first = stream
        ? await client.messages.stream(params).finalMessage()
        : await client.messages.create(params);
      const call = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
      expect(call?.name).toBe(LONG); // mapped back
      const sent = lastGeminiBody();
      const short = sent.tools[0].functionDeclarations[0].name as string;
      expect(short.length).toBeLessThanOrEqual(64);
      expect(sent.toolConfig.functionCallingConfig.allowedFunctionNames).toEqual([short]);

      const second = await client.messages.create({
        model: params.model,
        max_tokens: params.max_tokens,
        tools,
        messages: [
          question,
          { role: 'assistant', content: first.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: call!.id, content: 'sunny' }] },
        ],
      });
      expect(second.content).toEqual([
        expect.objectContaining({ type: 'text', text: expect.stringContaining('sunny') }),
      ]);
      const history = lastGeminiBody().contents as Array<{ parts: Array<Record<string, any>> }>;
      const names = history.flatMap((c) =>
        c.parts.flatMap((p) => [p.functionCall?.name, p.functionResponse?.name].filter(Boolean)),
      );
      expect(names).toEqual([short, short]);
    }
  });

  it('OpenAI SDK: the streamed call carries the client name', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'k', maxRetries: 0 });
    const completion = await client.chat.completions
      .stream({
        model: 'gemini,gemini-fake',
        messages: [{ role: 'user', content: `MOCK_TOOL_USE ${randomUUID()}` }],
        tools: [
          { type: 'function', function: { name: LONG, parameters: { type: 'object', properties: {} } } },
        ],
      })
      .finalChatCompletion();
    const call = completion.choices[0].message
      .tool_calls?.[0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(call.function.name).toBe(LONG);
    expect((lastGeminiBody().tools[0].functionDeclarations[0].name as string).length).toBeLessThanOrEqual(64);
  });
});
