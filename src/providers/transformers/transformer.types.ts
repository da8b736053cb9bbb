import type { OpenAIRequestOptions } from '../../protocol/anthropic-to-openai';
import type { CanonicalRequest } from '../../protocol/types';
import type { ProviderConfig, ProviderKind } from '../provider.types';

/** Options of the Anthropic → OpenAI conversion that transformers may tweak before the body is built. */
export type { OpenAIRequestOptions };

/** What a transformer sees about the call it is shaping. */
export interface TransformContext {
  provider: ProviderConfig;
  /** Upstream model id. */
  model: string;
  kind: ProviderKind;
  /** The canonical (Anthropic-shaped) request, read-only. */
  request: Readonly<CanonicalRequest>;
  stream: boolean;
  /**
   * Per-request overrides of the upstream call a `request` hook may set (a CCR `transformRequestIn` answering
   * `{ body, config: { url, headers } }`): the URL replaces the provider's endpoint, the headers are added
   * over ours (case-insensitively).
   */
  upstream?: { url?: string; headers?: Record<string, string> };
}

export type JsonObject = Record<string, unknown>;

/**
 * Per-request response hooks. OpenAI-kind only: chunks are parsed OpenAI `chat.completion.chunk` objects,
 * bodies are `chat.completion` objects — both before conversion to canonical events.
 */
export interface ResponseTransform {
  /** Rewrites one stream chunk; return [] to swallow it, several to split it. */
  chunk?(chunk: JsonObject): JsonObject[];
  /** Called once at `[DONE]`/EOF, before the stream is finalised: emit anything still buffered. */
  flush?(): JsonObject[];
  /** Rewrites a non-stream answer. */
  body?(body: JsonObject): JsonObject | Promise<JsonObject>;
  /**
   * Byte-level escape hatch (used by CCR-style modules with `transformResponseOut`): receives the upstream
   * SSE bytes and returns SSE bytes in the same (OpenAI) format.
   */
  bytes?(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>;
}

/**
 * A transformer shapes the upstream request (and, for OpenAI-compatible providers, the upstream answer) of
 * the providers/models whose `transformer.use` lists it. Chains run in order: the provider's `use`, then
 * the model's `transformer[model].use`. Options come from `["name", { … }]` entries and are bound when the
 * transformer is built (one instance per use).
 *
 * Custom transformer modules (config `transformers: [{ path, options }]`) export — as `module.exports` or a
 * CommonJS `default` — either a class `new (options) => Transformer` or an object implementing this
 * interface. CCR-style modules are accepted too: a class whose instances have `name` and
 * `transformRequestIn(body, provider, context)` (→ `request`) and/or `transformResponseOut(response:
 * Response)` (→ `response`, wrapping the upstream answer in a web `Response`). See docs/providers.md.
 */
export interface Transformer {
  /** Name used in `transformer.use` (matched case-insensitively). */
  readonly name: string;
  /** Tweaks the A→O conversion options (OpenAI kind). */
  requestOptions?(opts: OpenAIRequestOptions, ctx: TransformContext): OpenAIRequestOptions;
  /** Rewrites the final upstream body (every kind: OpenAI chat body, Anthropic body, Gemini body). */
  request?(body: JsonObject, ctx: TransformContext): JsonObject | Promise<JsonObject>;
  /** Builds per-request response hooks (stateful for streams); undefined when nothing to do. */
  response?(ctx: TransformContext): ResponseTransform | undefined;
}

export type TransformerFactory = (options: JsonObject) => Transformer;
