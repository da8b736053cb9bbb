import type { CanonicalRequest } from '../../protocol/types';
import type { ProviderConfig, ProviderKind } from '../provider.types';
import {
  cleancache,
  customparams,
  deepseek,
  groq,
  maxcompletiontokens,
  maxtoken,
  openrouter,
  reasoning,
  sampling,
  streamoptions,
} from './request.transformers';
import type { JsonObject, OpenAIRequestOptions, TransformContext, Transformer } from './transformer.types';

const provider: ProviderConfig = {
  name: 'p',
  api_base_url: 'https://example.test/v1/chat/completions',
  models: ['m'],
};

function ctx(over: Partial<TransformContext> & { kind?: ProviderKind } = {}): TransformContext {
  const request: CanonicalRequest = {
    model: 'client',
    max_tokens: 32000,
    messages: [{ role: 'user', content: 'hi' }],
    stream: true,
  };
  return { provider, model: 'm', kind: 'openai', request, stream: true, ...over };
}

async function run(t: Transformer, body: JsonObject, c = ctx()): Promise<JsonObject> {
  return t.request!(body, c);
}

const baseOpts: OpenAIRequestOptions = {
  model: 'm',
  maxTokensCap: undefined,
  reasoning: 'openai',
  keepCacheControl: false,
};

describe('built-in request transformers', () => {
  it('deepseek: deepseek reasoning style, 8192 clamp, forced tool_choice downgraded while thinking', async () => {
    const t = deepseek({});
    expect(t.requestOptions!(baseOpts, ctx())).toMatchObject({ reasoning: 'deepseek', maxTokensCap: 8192 });
    expect(t.requestOptions!({ ...baseOpts, maxTokensCap: 4096 }, ctx()).maxTokensCap).toBe(4096);
    expect(deepseek({ max_tokens: 65536 }).requestOptions!(baseOpts, ctx()).maxTokensCap).toBe(65536);
    const body = await run(t, { tool_choice: 'required', thinking: { type: 'enabled' } });
    expect(body.tool_choice).toBe('auto');
    expect((await run(t, { tool_choice: 'required' }, ctx({ model: 'deepseek-reasoner' }))).tool_choice).toBe(
      'auto',
    );
    expect((await run(t, { tool_choice: 'required' }, ctx({ model: 'deepseek-chat' }))).tool_choice).toBe(
      'required',
    );
  });

  it('openrouter: reasoning style, top_k, cache_control only for Claude, provider routing merged into the body', async () => {
    const t = openrouter({ provider: { only: ['anthropic'] } });
    expect(t.requestOptions!(baseOpts, ctx({ model: 'anthropic/claude-sonnet-4' }))).toMatchObject({
      reasoning: 'openrouter',
      supportsTopK: true,
      keepCacheControl: true,
    });
    expect(t.requestOptions!(baseOpts, ctx({ model: 'openai/gpt-4o' })).keepCacheControl).toBe(false);
    expect(await run(t, { model: 'x' })).toEqual({ model: 'x', provider: { only: ['anthropic'] } });
  });

  it('groq: strips cache_control, $schema and reasoning; reasoning_effort only for its reasoning models', async () => {
    const body = {
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'a', cache_control: { type: 'ephemeral' } }] },
      ],
      tools: [{ type: 'function', function: { name: 'f', parameters: { $schema: 'x', type: 'object' } } }],
      reasoning: { effort: 'high' },
      reasoning_effort: 'high',
    };
    const out = await run(groq({}), structuredClone(body), ctx({ model: 'moonshotai/kimi-k2-instruct' }));
    expect(out).toEqual({
      messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }] }],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
    });
    expect(
      (await run(groq({}), structuredClone(body), ctx({ model: 'openai/gpt-oss-120b' }))).reasoning_effort,
    ).toBe('high');
  });

  it('maxtoken: clamps max_tokens for every body shape', async () => {
    const t = maxtoken({ max_tokens: 1000 });
    expect(t.requestOptions!(baseOpts, ctx()).maxTokensCap).toBe(1000);
    expect(await run(t, { max_tokens: 32000 })).toEqual({ max_tokens: 1000 });
    expect(await run(t, { max_completion_tokens: 500 })).toEqual({ max_completion_tokens: 500 });
    expect(await run(t, { generationConfig: { maxOutputTokens: 9000 } }, ctx({ kind: 'gemini' }))).toEqual({
      generationConfig: { maxOutputTokens: 1000 },
    });
  });

  it('maxcompletiontokens: sends max_completion_tokens instead of max_tokens', async () => {
    const t = maxcompletiontokens({});
    expect(t.requestOptions!(baseOpts, ctx()).maxTokensField).toBe('max_completion_tokens');
    expect(await run(t, { max_tokens: 100 })).toEqual({ max_completion_tokens: 100 });
  });

  it('sampling: sets configured values, removes null/drop entries, drops params o-series/gpt-5 reject', async () => {
    const t = sampling({ temperature: 0.2, top_k: null, drop: ['presence_penalty'], max_tokens: 50 });
    expect(
      await run(t, { temperature: 1, top_p: 0.9, top_k: 5, presence_penalty: 1, max_tokens: 100 }),
    ).toEqual({
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 50,
    });
    expect(
      await run(sampling({}), { temperature: 0.7, top_p: 0.9, model: 'gpt-5' }, ctx({ model: 'gpt-5-mini' })),
    ).toEqual({
      model: 'gpt-5',
    });
  });

  it('reasoning: enable_thinking follows the client thinking config, or is forced off', async () => {
    const thinking = ctx({
      request: {
        model: 'c',
        max_tokens: 10,
        messages: [],
        thinking: { type: 'enabled', budget_tokens: 2048 },
      },
    });
    expect(await run(reasoning({}), {}, thinking)).toEqual({
      enable_thinking: true,
      thinking: { type: 'enabled', budget_tokens: 2048 },
    });
    expect(await run(reasoning({}), {})).toEqual({});
    expect(reasoning({ style: 'openai' }).requestOptions!(baseOpts, thinking).reasoning).toBe('openai');
    expect(reasoning({}).requestOptions!(baseOpts, thinking).reasoning).toBe('openai');
    expect(
      reasoning({ style: 'bogus' }).requestOptions!({ ...baseOpts, reasoning: 'none' }, thinking).reasoning,
    ).toBe('none');
    expect(await run(reasoning({ enable: false }), { reasoning_effort: 'high' }, thinking)).toEqual({
      enable_thinking: false,
      thinking: { type: 'disabled' },
    });
  });

  it('cleancache: removes cache_control at any depth', async () => {
    const body = {
      messages: [
        { role: 'system', content: [{ type: 'text', text: 's', cache_control: { type: 'ephemeral' } }] },
      ],
      tools: [{ type: 'function', cache_control: { type: 'ephemeral' }, function: { name: 'f' } }],
      cache_control: { type: 'ephemeral' },
    };
    expect(JSON.stringify(await run(cleancache({}), body))).not.toContain('cache_control');
    expect(
      cleancache({}).requestOptions!({ ...baseOpts, keepCacheControl: true }, ctx()).keepCacheControl,
    ).toBe(false);
  });

  it('streamoptions: include_usage on streaming requests only', async () => {
    expect(await run(streamoptions({}), { stream: true })).toEqual({
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(await run(streamoptions({}), { stream: false })).toEqual({ stream: false });
    expect(streamoptions({}).requestOptions!(baseOpts, ctx()).includeUsage).toBe(true);
  });

  it('customparams: deep-merges its options into the body, never through __proto__', async () => {
    const t = customparams(
      JSON.parse('{"chat_template_kwargs":{"thinking":true},"top_k":20,"__proto__":{"polluted":1}}'),
    );
    const out = await run(t, { chat_template_kwargs: { other: 1 }, model: 'm' });
    expect(out).toEqual({ chat_template_kwargs: { other: 1, thinking: true }, top_k: 20, model: 'm' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
