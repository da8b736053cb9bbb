import { anthropicToGeminiRequest } from '../providers/gemini/gemini.codec';
import { prepareAnthropicUpstream } from './anthropic-passthrough';
import { anthropicToOpenAIRequest } from './anthropic-to-openai';
import { GatewayError } from './errors';
import type { OpenAIChatRequest } from './openai-types';
import { openAIRequestToAnthropic } from './openai-to-anthropic';

/**
 * OpenAI ingress parameters with no exact Anthropic equivalent (audit O-F5): kept as sent in
 * `openai_params`, given unchanged to OpenAI-compatible upstreams, never to Anthropic ones.
 */
const req = (over: Partial<OpenAIChatRequest>): OpenAIChatRequest => ({
  model: 'gpt',
  messages: [{ role: 'user', content: 'hi' }],
  ...over,
});

const SAMPLED: Partial<OpenAIChatRequest> = {
  temperature: 1.7,
  top_p: 0.5,
  seed: 7,
  presence_penalty: 1,
  frequency_penalty: -0.5,
  tools: [
    {
      type: 'function',
      function: { name: 'f', parameters: { type: 'object', properties: {} }, strict: true },
    },
    { type: 'function', function: { name: 'g' } },
  ],
};

describe('OpenAI ingress parameters (openai_params)', () => {
  it('are kept as sent, beside the Anthropic-valid canonical fields', () => {
    const out = openAIRequestToAnthropic(req(SAMPLED));
    expect(out.openai_params).toEqual({
      temperature: 1.7,
      top_p: 0.5,
      seed: 7,
      presence_penalty: 1,
      frequency_penalty: -0.5,
      tool_strict: { f: true },
    });
    expect(out.temperature).toBe(1);
    expect(out.tools?.[0]).not.toHaveProperty('strict');
  });

  it('are absent when the client sent none of them (null is unset)', () => {
    expect(
      openAIRequestToAnthropic(req({ seed: null, temperature: null as unknown as number })),
    ).not.toHaveProperty('openai_params');
  });

  it('a seed that is not an integer is a 400 naming it', () => {
    expect(() => openAIRequestToAnthropic(req({ seed: 1.5 }))).toThrow(GatewayError);
    expect(() => openAIRequestToAnthropic(req({ seed: 'x' }))).toThrow(/seed: must be an integer/);
    expect(() => openAIRequestToAnthropic(req({ presence_penalty: '1' }))).toThrow(
      /presence_penalty: must be a number/,
    );
  });

  it('reach an OpenAI-compatible upstream unchanged', () => {
    const body = anthropicToOpenAIRequest(openAIRequestToAnthropic(req(SAMPLED)), { model: 'up' });
    expect(body).toMatchObject({
      temperature: 1.7,
      top_p: 0.5,
      seed: 7,
      presence_penalty: 1,
      frequency_penalty: -0.5,
    });
    expect(body.tools?.map((t) => t.function)).toEqual([
      { name: 'f', parameters: { type: 'object', properties: {} }, strict: true },
      { name: 'g', parameters: { type: 'object', properties: {} } },
    ]);
  });

  it('keep the client temperature and top_p even beside a thinking budget', () => {
    const canonical = openAIRequestToAnthropic(
      req({ reasoning_effort: 'medium', max_tokens: 20_000, temperature: 0.2, top_p: 0.5 }),
    );
    expect(canonical).not.toHaveProperty('temperature');
    const body = anthropicToOpenAIRequest(canonical, { model: 'up' });
    expect(body).toMatchObject({ temperature: 0.2, top_p: 0.5 });
  });

  it('strict follows a tool whose name the upstream gets shortened', () => {
    const long = `mcp__server__${'x'.repeat(70)}`;
    const canonical = openAIRequestToAnthropic(
      req({ tools: [{ type: 'function', function: { name: long, strict: true } }] }),
    );
    const body = anthropicToOpenAIRequest(canonical, { model: 'up' });
    expect(body.tools?.[0].function.name.length).toBeLessThanOrEqual(64);
    expect(body.tools?.[0].function.strict).toBe(true);
  });

  it('never reach an Anthropic upstream, first party or third party; its temperature stays 0–1', () => {
    const canonical = openAIRequestToAnthropic(req({ ...SAMPLED, max_tokens: 100 }));
    for (const firstParty of [true, false]) {
      const { body } = prepareAnthropicUpstream(canonical, { firstParty, model: 'claude' });
      expect(body).not.toHaveProperty('openai_params');
      expect(body).not.toHaveProperty('seed');
      expect(body.temperature).toBe(1);
    }
  });

  it('Gemini gets the OpenAI temperature (its range is 0–2 too)', () => {
    const body = anthropicToGeminiRequest(
      openAIRequestToAnthropic(req({ temperature: 1.7, max_tokens: 50 })),
    );
    expect(body.generationConfig).toMatchObject({ temperature: 1.7, maxOutputTokens: 50 });
    expect(JSON.stringify(body)).not.toContain('openai_params');
  });

  it('an Anthropic-ingress request (no openai_params) converts as before', () => {
    const body = anthropicToOpenAIRequest(
      {
        model: 'claude',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'hi' }],
        temperature: 0.3,
        top_p: 0.9,
      },
      { model: 'up' },
    );
    expect(body.temperature).toBe(0.3);
    expect(body).not.toHaveProperty('top_p');
    expect(body).not.toHaveProperty('seed');
  });
});

describe('OpenAI response_format (JSON mode)', () => {
  const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] };
  const jsonSchema = { name: 'answer', description: 'the answer', schema, strict: false };

  it('json_object is kept as sent; no Anthropic field stands for it', () => {
    const out = openAIRequestToAnthropic(req({ response_format: { type: 'json_object' } }));
    expect(out.openai_params).toEqual({ response_format: { type: 'json_object' } });
    expect(out).not.toHaveProperty('output_config');
  });

  it('json_schema is kept as sent and is Anthropic structured output too', () => {
    const out = openAIRequestToAnthropic(
      req({ response_format: { type: 'json_schema', json_schema: jsonSchema } }),
    );
    expect(out.openai_params?.response_format).toEqual({ type: 'json_schema', json_schema: jsonSchema });
    expect(out.output_config).toEqual({ format: { type: 'json_schema', schema } });
  });

  it('text (the default) keeps nothing; a json_schema without its object is a 400', () => {
    expect(openAIRequestToAnthropic(req({ response_format: { type: 'text' } }))).not.toHaveProperty(
      'openai_params',
    );
    expect(() => openAIRequestToAnthropic(req({ response_format: { type: 'json_schema' } }))).toThrow(
      /response_format\.json_schema: required/,
    );
  });

  it('an OpenAI-compatible upstream gets it as sent (name, description, strict)', () => {
    for (const format of [{ type: 'json_object' }, { type: 'json_schema', json_schema: jsonSchema }]) {
      const body = anthropicToOpenAIRequest(openAIRequestToAnthropic(req({ response_format: format })), {
        model: 'up',
      });
      expect(body.response_format).toEqual(format);
    }
  });

  it('an Anthropic-ingress output_config.format still maps to a strict structured_output schema', () => {
    const body = anthropicToOpenAIRequest(
      {
        model: 'claude',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'hi' }],
        output_config: { format: { type: 'json_schema', schema } },
      },
      { model: 'up' },
    );
    expect(body.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'structured_output', schema, strict: true },
    });
  });

  it('Gemini: JSON mime type for json_object, plus the schema for json_schema', () => {
    const asJson = anthropicToGeminiRequest(
      openAIRequestToAnthropic(req({ response_format: { type: 'json_object' } })),
    );
    expect(asJson.generationConfig).toMatchObject({ responseMimeType: 'application/json' });
    expect(asJson.generationConfig).not.toHaveProperty('responseSchema');
    const withSchema = anthropicToGeminiRequest(
      openAIRequestToAnthropic(req({ response_format: { type: 'json_schema', json_schema: jsonSchema } })),
    );
    expect(withSchema.generationConfig).toMatchObject({
      responseMimeType: 'application/json',
      responseSchema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] },
    });
  });

  it('Anthropic: api.anthropic.com gets the schema as output_config.format; json_object has no equivalent', () => {
    const structured = openAIRequestToAnthropic(
      req({ response_format: { type: 'json_schema', json_schema: jsonSchema } }),
    );
    const { body } = prepareAnthropicUpstream(structured, { firstParty: true, model: 'claude' });
    expect(body.output_config).toEqual({ format: { type: 'json_schema', schema } });
    const plain = openAIRequestToAnthropic(req({ response_format: { type: 'json_object' } }));
    for (const firstParty of [true, false]) {
      const out = prepareAnthropicUpstream(plain, { firstParty, model: 'claude' }).body;
      expect(out).not.toHaveProperty('output_config');
      expect(out).not.toHaveProperty('openai_params');
    }
  });

  it('Anthropic third party: a required schema it would not get is a 400, unless allowFields forwards it', () => {
    const structured = openAIRequestToAnthropic(
      req({ response_format: { type: 'json_schema', json_schema: jsonSchema } }),
    );
    expect(() => prepareAnthropicUpstream(structured, { firstParty: false, model: 'm' })).toThrow(
      GatewayError,
    );
    expect(() => prepareAnthropicUpstream(structured, { firstParty: false, model: 'm' })).toThrow(
      /does not get structured outputs/,
    );
    const { body } = prepareAnthropicUpstream(structured, {
      firstParty: false,
      model: 'm',
      allowFields: ['model', 'max_tokens', 'messages', 'output_config'],
    });
    expect(body.output_config).toEqual({ format: { type: 'json_schema', schema } });
  });
});

describe('web_search_options', () => {
  const options = {
    search_context_size: 'low',
    user_location: { type: 'approximate', approximate: { city: 'Paris', country: 'FR', ignored: 1 } },
  };

  it('becomes a web search server tool (the webSearch scenario) and stays as sent for OpenAI upstreams', () => {
    const out = openAIRequestToAnthropic(req({ web_search_options: options }));
    expect(out.tools).toEqual([
      {
        type: 'web_search_20250305',
        name: 'web_search',
        user_location: { type: 'approximate', city: 'Paris', country: 'FR' },
      },
    ]);
    expect(out.openai_params?.web_search_options).toEqual(options);
    // OpenAI-compatible upstream: the options back as sent, the server tool not sent as a function.
    const openai = anthropicToOpenAIRequest(out, { model: 'gpt-4o-search-preview' });
    expect(openai.web_search_options).toEqual(options);
    expect(openai.tools).toBeUndefined();
    // Anthropic upstream: the server tool, no OpenAI field.
    const anthropic = prepareAnthropicUpstream(out, { firstParty: true, model: 'claude' }).body;
    expect(anthropic.tools).toEqual(out.tools);
    expect(anthropic).not.toHaveProperty('openai_params');
    // Gemini: Google Search.
    expect((anthropicToGeminiRequest(out) as { tools?: unknown[] }).tools).toEqual([{ googleSearch: {} }]);
  });

  it('beside function tools, and {} is enough; a non-object is a 400', () => {
    const out = openAIRequestToAnthropic(req({ ...SAMPLED, web_search_options: {} }));
    expect(out.tools?.map((t) => t.name)).toEqual(['f', 'g', 'web_search']);
    expect(() => openAIRequestToAnthropic(req({ web_search_options: 'yes' as never }))).toThrow(GatewayError);
    expect(openAIRequestToAnthropic(req({ web_search_options: null })).tools).toBeUndefined();
  });

  it('an Anthropic client’s web search tool gives an OpenAI upstream no web_search_options', () => {
    const openai = anthropicToOpenAIRequest(
      {
        model: 'm',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'q' }],
        tools: [{ type: 'web_search_20250305', name: 'web_search' }],
      },
      { model: 'gpt' },
    );
    expect(openai.web_search_options).toBeUndefined();
  });
});
