import OpenAI from 'openai';
import { startFakeProvider, type FakeProvider } from './index';
import { BASH_TOOL, dataLines, directive, jsonChunks, openaiBody, rawPost } from './spec-helpers';

const TOOLS = [{ type: 'function', function: { name: BASH_TOOL.name, parameters: BASH_TOOL.input_schema } }];

describe('fake provider: OpenAI provider quirks (PROTOCOL §5.4)', () => {
  let fake: FakeProvider;
  let openai: OpenAI;

  beforeAll(async () => {
    fake = await startFakeProvider({ defaults: { usage: { input: 100, output: 40, cacheRead: 30 } } });
    openai = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'test', maxRetries: 0 });
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  const stream = async (content: string, includeUsage = true) => {
    const body = openaiBody(content, {
      stream: true,
      tools: TOOLS,
      ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
    });
    const raw = await rawPost(fake.url, '/v1/chat/completions', body);
    return { raw: raw.text, chunks: jsonChunks(raw.text), body };
  };

  it('groq: whole tool call in one chunk with a functions.<name>:0 id, usage twice', async () => {
    fake.configure({ quirk: 'groq' });
    const { chunks, body } = await stream('MOCK_TOOL_USE');
    const toolChunks = chunks.filter((c) => c.choices[0]?.delta.tool_calls);
    expect(toolChunks).toHaveLength(1);
    expect(toolChunks[0].choices[0].delta.tool_calls[0]).toEqual({
      index: 0,
      id: 'functions.Bash:0',
      type: 'function',
      function: { name: 'Bash', arguments: '{"command":"echo hi"}' },
    });
    const finish = chunks.find((c) => c.choices[0]?.finish_reason);
    expect(finish.choices[0].finish_reason).toBe('tool_calls');
    expect(finish.usage).toMatchObject({ prompt_tokens: 130, completion_tokens: 40 });
    expect(finish.x_groq.usage).toEqual(finish.usage);
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 130, completion_tokens: 40 },
    });
    const final = await openai.chat.completions.stream(body as any).finalChatCompletion();
    expect(final.choices[0].message.tool_calls![0]).toMatchObject({ id: 'functions.Bash:0' });
  });

  it('glm: role on every chunk, "\\n" before reasoning, tool call in the finish chunk, duplicate finish with usage', async () => {
    fake.configure({ quirk: 'glm', reasoning: 'plan it', text: 'ok' });
    const { chunks, raw } = await stream('MOCK_TOOL_USE', false);
    expect(chunks.every((c) => c.object === undefined && c.choices[0].delta.role === 'assistant')).toBe(true);
    const deltas = chunks.map((c) => c.choices[0].delta);
    const firstReasoning = deltas.findIndex((d) => d.reasoning_content);
    expect(deltas.slice(0, firstReasoning).map((d) => d.content)).toContain('\n');
    expect(deltas.map((d) => d.reasoning_content ?? '').join('')).toBe('plan it');
    const finishes = chunks.filter((c) => c.choices[0].finish_reason);
    expect(finishes).toHaveLength(2);
    expect(finishes[0].choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      delta: {
        tool_calls: [
          { index: 0, type: 'function', function: { name: 'Bash', arguments: '{"command":"echo hi"}' } },
        ],
      },
    });
    expect(finishes[0].usage).toBeUndefined();
    expect(finishes[1].choices[0].finish_reason).toBe('tool_calls');
    expect(finishes[1].usage).toMatchObject({
      prompt_tokens: 130,
      completion_tokens: 40,
      prompt_tokens_details: { cached_tokens: 30 },
    });
    expect(chunks.at(-1)).toBe(finishes[1]);
    expect(dataLines(raw).at(-1)).toBe('[DONE]');
  });

  it('deepseek: reasoning_content deltas and prompt_cache_hit_tokens usage', async () => {
    fake.configure({ quirk: 'deepseek', reasoning: 'deep thought' });
    const { chunks } = await stream('Hi');
    expect(chunks.map((c) => c.choices[0]?.delta.reasoning_content ?? '').join('')).toBe('deep thought');
    const usage = chunks.at(-1).usage;
    expect(usage).toMatchObject({
      prompt_tokens: 130,
      prompt_cache_hit_tokens: 30,
      prompt_cache_miss_tokens: 100,
    });
    expect(usage.prompt_tokens_details).toBeUndefined();
  });

  it('openrouter: processing comments before and between chunks, reasoning + reasoning_details', async () => {
    fake.configure({ quirk: 'openrouter', reasoning: 'why not', chunkCount: 2 });
    const { raw, chunks, body } = await stream('Hi');
    expect(raw.startsWith(': OPENROUTER PROCESSING\n\n')).toBe(true);
    expect(raw.split(': OPENROUTER PROCESSING').length - 1).toBeGreaterThan(3);
    const reasoning = chunks.filter((c) => c.choices[0]?.delta.reasoning);
    expect(reasoning.map((c) => c.choices[0].delta.reasoning).join('')).toBe('why not');
    expect(reasoning[0].choices[0].delta.reasoning_details[0]).toMatchObject({
      type: 'reasoning.text',
      text: reasoning[0].choices[0].delta.reasoning,
    });
    expect(chunks.some((c) => c.choices[0]?.delta.reasoning_content)).toBe(false);
    const final = await openai.chat.completions.stream(body as any).finalChatCompletion();
    expect(final.choices[0].message.content).toBe('Hello from fake provider');
  });

  it('usage-every-chunk: running usage on every chunk, final totals last', async () => {
    fake.configure({ quirk: 'usage-every-chunk', chunkCount: 4 });
    const { chunks } = await stream('Hi', false);
    expect(chunks.every((c) => c.usage && c.usage.prompt_tokens === 130)).toBe(true);
    const completion = chunks.map((c) => c.usage.completion_tokens as number);
    expect(completion).toEqual([...completion].sort((a, b) => a - b));
    expect(completion[0]).toBeLessThan(40);
    expect(completion.at(-1)).toBe(40);
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');
  });
});

describe('fake provider: Gemini', () => {
  let fake: FakeProvider;
  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  const gemini = (text: string, extra: Record<string, unknown> = {}) => ({
    contents: [{ role: 'user', parts: [{ text }] }],
    ...extra,
  });

  it('generateContent: candidates, parts and usageMetadata', async () => {
    const raw = await rawPost(
      fake.url,
      '/v1beta/models/gemini-2.5-flash:generateContent',
      gemini(directive({ reasoning: 'hmm' })),
    );
    const res = JSON.parse(raw.text);
    expect(res.candidates[0]).toMatchObject({
      content: {
        role: 'model',
        parts: [{ text: 'hmm', thought: true }, { text: 'Hello from fake provider' }],
      },
      finishReason: 'STOP',
    });
    expect(res.usageMetadata).toMatchObject({
      promptTokenCount: 10,
      totalTokenCount: 30,
      thoughtsTokenCount: 1,
      candidatesTokenCount: 19,
    });
    expect(fake.requests[0]).toMatchObject({ api: 'gemini', model: 'gemini-2.5-flash', stream: false });
  });

  it('streamGenerateContent?alt=sse: data: JSON lines, finish and usage on the last', async () => {
    const raw = await rawPost(
      fake.url,
      '/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse',
      gemini('Hi'),
    );
    expect(raw.text).toContain('\r\n\r\n');
    const chunks = jsonChunks(raw.text);
    expect(chunks.map((c) => c.candidates[0].content.parts[0].text).join('')).toBe(
      'Hello from fake provider',
    );
    expect(chunks.at(-1).candidates[0].finishReason).toBe('STOP');
    expect(chunks.at(-1).usageMetadata.promptTokenCount).toBe(10);
    expect(chunks.slice(0, -1).every((c) => c.usageMetadata === undefined)).toBe(true);
    expect(fake.requests[0]).toMatchObject({ model: 'gemini-2.5-pro', stream: true });
    const array = await rawPost(
      fake.url,
      '/v1beta/models/gemini-2.5-pro:streamGenerateContent',
      gemini('Hi'),
    );
    expect((JSON.parse(array.text) as unknown[]).length).toBe(chunks.length);
  });

  it('functionCall for MOCK_TOOL_USE, text for a functionResponse', async () => {
    const tools = [
      {
        functionDeclarations: [
          {
            name: 'lookup',
            parameters: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] },
          },
        ],
      },
    ];
    const raw = await rawPost(
      fake.url,
      '/v1beta/models/g:streamGenerateContent?alt=sse',
      gemini('MOCK_TOOL_USE', { tools }),
    );
    const call = jsonChunks(raw.text)
      .flatMap((c) => c.candidates[0].content.parts)
      .find((p) => p.functionCall);
    expect(call.functionCall).toEqual({ name: 'lookup', args: { id: 1 } });
    const after = await rawPost(fake.url, '/v1beta/models/g:generateContent', {
      contents: [
        { role: 'user', parts: [{ text: 'MOCK_TOOL_USE' }] },
        { role: 'model', parts: [{ functionCall: { name: 'lookup', args: { id: 1 } } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'lookup', response: { output: 'found it' } } }] },
      ],
      tools,
    });
    expect(JSON.parse(after.text).candidates[0].content.parts).toEqual([
      { text: 'Tool result received: found it' },
    ]);
  });
});
