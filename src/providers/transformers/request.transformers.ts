import type { JsonObject, OpenAIRequestOptions, TransformerFactory } from './transformer.types';
import { clampMaxTokens, deepMerge, isObject, num, stripCacheControl } from './json-utils';

const minCap = (a: number | undefined, b: number): number => (a === undefined ? b : Math.min(a, b));

/** No-op markers: their presence in `use` selects the provider kind (CCR conventions). */
export const markerTransformer =
  (name: string): TransformerFactory =>
  () => ({ name });

/**
 * `deepseek`: max_tokens clamped to 8192 (CCR; `["deepseek", {max_tokens: N}]` changes it), DeepSeek's
 * `thinking` switch, and thinking echoed back as `reasoning_content` (its API 400s without it on tool
 * turns). The reasoner rejects forced tool_choice, so it is downgraded to auto while thinking is on.
 */
export const deepseek: TransformerFactory = (options) => {
  const cap = num(options.max_tokens) ?? 8192;
  return {
    name: 'deepseek',
    requestOptions: (opts) => ({
      ...opts,
      reasoning: 'deepseek',
      maxTokensCap: minCap(opts.maxTokensCap, cap),
    }),
    request: (body, ctx) => {
      if (ctx.kind !== 'openai') {
        clampMaxTokens(body, cap);
        return body;
      }
      const thinking = isObject(body.thinking) && body.thinking.type === 'enabled';
      const forced = body.tool_choice === 'required' || isObject(body.tool_choice);
      if (forced && (thinking || /reasoner/i.test(ctx.model))) {
        body.tool_choice = 'auto';
      }
      return body;
    },
  };
};

/**
 * `openrouter`: OpenRouter's `reasoning` object, top_k passthrough, cache_control kept only for Claude
 * models (the only ones that honour it there), and the options object merged into the body — CCR's
 * provider-routing passthrough: `["openrouter", {"provider": {"only": ["anthropic"]}}]`.
 */
export const openrouter: TransformerFactory = (options) => ({
  name: 'openrouter',
  requestOptions: (opts, ctx) => ({
    ...opts,
    reasoning: 'openrouter',
    supportsTopK: true,
    keepCacheControl: /^anthropic\/|claude/i.test(ctx.model),
  }),
  request: (body) => Object.assign(body, structuredClone(options)),
});

/** `groq`: Groq rejects cache_control, `$schema` in tool parameters and the `reasoning` object. */
export const groq: TransformerFactory = () => ({
  name: 'groq',
  requestOptions: (opts) => ({ ...opts, keepCacheControl: false }),
  request: (body, ctx) => {
    stripCacheControl(body.messages);
    stripCacheControl(body.tools);
    if (Array.isArray(body.tools)) {
      for (const tool of body.tools) {
        const params = isObject(tool) && isObject(tool.function) ? tool.function.parameters : undefined;
        if (isObject(params)) {
          delete params.$schema;
        }
      }
    }
    delete body.reasoning;
    // Only Groq's reasoning models accept reasoning_effort; others answer 400.
    if (!/gpt-oss|qwen/i.test(ctx.model)) {
      delete body.reasoning_effort;
    }
    return body;
  },
});

/** `maxtoken`: `["maxtoken", {max_tokens: N}]` clamps the output budget (any kind). */
export const maxtoken: TransformerFactory = (options) => {
  const cap = num(options.max_tokens);
  return {
    name: 'maxtoken',
    requestOptions: (opts) =>
      cap === undefined ? opts : { ...opts, maxTokensCap: minCap(opts.maxTokensCap, cap) },
    request: (body) => {
      if (cap !== undefined) {
        clampMaxTokens(body, cap);
      }
      return body;
    },
  };
};

/** `maxcompletiontokens`: o-series/gpt-5 style endpoints reject `max_tokens`. */
export const maxcompletiontokens: TransformerFactory = () => ({
  name: 'maxcompletiontokens',
  requestOptions: (opts) => ({ ...opts, maxTokensField: 'max_completion_tokens' }),
  request: (body, ctx) => {
    if (ctx.kind === 'openai' && body.max_tokens !== undefined) {
      body.max_completion_tokens ??= body.max_tokens;
      delete body.max_tokens;
    }
    return body;
  },
});

const SAMPLING_KEYS = [
  'temperature',
  'top_p',
  'top_k',
  'repetition_penalty',
  'presence_penalty',
  'frequency_penalty',
];
/** Models known to reject non-default sampling parameters. */
const FIXED_SAMPLING_MODELS = /(^|\/)(o\d|gpt-5)/i;

/**
 * `sampling`: CCR semantics — `["sampling", {temperature, top_p, top_k, repetition_penalty, max_tokens}]`
 * sets those values (max_tokens clamps). Switchyard additions: a `null` value or `drop: [...]` removes
 * a parameter, and sampling parameters are dropped for models that reject them (o-series, gpt-5).
 */
export const sampling: TransformerFactory = (options) => {
  const cap = num(options.max_tokens);
  const drop = Array.isArray(options.drop)
    ? options.drop.filter((d): d is string => typeof d === 'string')
    : [];
  return {
    name: 'sampling',
    request: (body, ctx) => {
      if (cap !== undefined) {
        clampMaxTokens(body, cap);
      }
      if (ctx.kind === 'openai' && FIXED_SAMPLING_MODELS.test(ctx.model)) {
        for (const key of SAMPLING_KEYS) {
          delete body[key];
        }
      }
      for (const key of SAMPLING_KEYS) {
        if (options[key] === null) {
          delete body[key];
        } else if (options[key] !== undefined) {
          body[key] = options[key];
        }
      }
      for (const key of drop) {
        delete body[key];
      }
      return body;
    },
  };
};

const REASONING_STYLES = new Set(['openai', 'openrouter', 'deepseek', 'none']);

/**
 * `reasoning`: for servers whose thinking switch is `enable_thinking` (Qwen on vLLM/SiliconFlow/DashScope
 * and friends). Client thinking on → `enable_thinking: true` + `thinking {type: enabled, budget_tokens}`;
 * `["reasoning", {enable: false}]` forces thinking off. Switchyard addition: `{style: "openai"}` also
 * sends the thinking in that dialect (`reasoning_effort`, OpenRouter `reasoning`, DeepSeek `thinking`).
 */
export const reasoning: TransformerFactory = (options) => {
  const enable = options.enable !== false;
  const style =
    typeof options.style === 'string' && REASONING_STYLES.has(options.style) ? options.style : undefined;
  return {
    name: 'reasoning',
    requestOptions: (opts) =>
      style && enable ? { ...opts, reasoning: style as OpenAIRequestOptions['reasoning'] } : opts,
    request: (body, ctx) => {
      if (ctx.kind !== 'openai') {
        return body;
      }
      if (!enable) {
        body.thinking = { type: 'disabled' };
        body.enable_thinking = false;
        delete body.reasoning;
        delete body.reasoning_effort;
        return body;
      }
      const t = ctx.request.thinking;
      if (t && t.type !== 'disabled') {
        body.thinking =
          t.type === 'enabled' ? { type: 'enabled', budget_tokens: t.budget_tokens } : { type: 'enabled' };
        body.enable_thinking = true;
      }
      return body;
    },
  };
};

/** `cleancache`: strips every cache_control (for upstreams that 400 on unknown fields). */
export const cleancache: TransformerFactory = () => ({
  name: 'cleancache',
  requestOptions: (opts) => ({ ...opts, keepCacheControl: false }),
  request: (body) => {
    stripCacheControl(body);
    return body;
  },
});

/** `streamoptions`: asks for the usage chunk on streams (servers that do not send it unasked). */
export const streamoptions: TransformerFactory = () => ({
  name: 'streamoptions',
  requestOptions: (opts: OpenAIRequestOptions) => ({ ...opts, includeUsage: true }),
  request: (body, ctx) => {
    if (ctx.kind === 'openai' && body.stream === true) {
      body.stream_options = {
        ...(isObject(body.stream_options) ? body.stream_options : {}),
        include_usage: true,
      };
    }
    return body;
  },
});

/** `customparams`: `["customparams", {...}]` deep-merged into the upstream body (any kind). */
export const customparams: TransformerFactory = (options) => ({
  name: 'customparams',
  request: (body: JsonObject) => deepMerge(body, options),
});

export const REQUEST_TRANSFORMERS: Record<string, TransformerFactory> = {
  deepseek,
  openrouter,
  groq,
  maxtoken,
  maxcompletiontokens,
  sampling,
  reasoning,
  cleancache,
  streamoptions,
  customparams,
  anthropic: markerTransformer('Anthropic'),
  gemini: markerTransformer('gemini'),
  openai: markerTransformer('openai'),
};
