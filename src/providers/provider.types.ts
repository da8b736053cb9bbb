import type { CanonicalRequest, StreamEvent } from '../protocol/types';

/** One entry of the config's `Providers` array (CCR shape, plus Switchyard extensions). */
export type TransformerUse = string | [string, Record<string, unknown>];

export interface TransformerConfig {
  use?: TransformerUse[];
  [model: string]: { use?: TransformerUse[] } | TransformerUse[] | undefined;
}

export interface ProviderConfig {
  name: string;
  api_base_url: string;
  api_key?: string;
  models: string[];
  transformer?: TransformerConfig;
  /** Explicit kind; otherwise inferred from the transformer names (CCR conventions). */
  kind?: ProviderKind;
  /** Extra headers sent upstream on every request. */
  headers?: Record<string, string>;
  /** Connection pool of this provider's origin. */
  pool?: { connections?: number; pipelining?: number; keepAliveTimeoutMs?: number };
  /** Per-provider HTTP timeouts in ms (explicit: no hidden 300 s defaults). */
  timeouts?: { connectMs?: number; headersMs?: number; bodyMs?: number };
  /** Anthropic kind: body fields forwarded to a third-party upstream (default: a safe list). */
  allowFields?: string[];
  /** Anthropic kind: anthropic-beta values forwarded to a third-party upstream. */
  allowBetas?: string[];
  /** Clamp for max_tokens (e.g. DeepSeek 8192). */
  maxTokens?: number;
  /** Whether the provider supports the Anthropic count_tokens endpoint (anthropic kind). */
  countTokens?: boolean;
  /** Anthropic kind: also send `Authorization: Bearer <api_key>`. */
  authHeader?: 'x-api-key' | 'bearer';
  /** OpenAI kind: false stops sending `stream_options.include_usage` (servers that reject it). */
  includeUsage?: boolean;
  [key: string]: unknown;
}

export type ProviderKind = 'anthropic' | 'openai' | 'gemini';

export interface Target {
  provider: ProviderConfig;
  /** Upstream model id (without the provider prefix). */
  model: string;
}

/** Everything an adapter needs from the request besides the body. */
export interface UpstreamCallContext {
  requestId: string;
  /** Aborted on client disconnect or deadline; adapters must pass it to the HTTP call. */
  signal: AbortSignal;
  /** Incoming client headers (lower-case names), for anthropic-beta / anthropic-version passthrough. */
  clientHeaders: Record<string, string | string[] | undefined>;
  /** Local estimate of input tokens, used when the upstream reports none. */
  inputTokensEstimate: number;
  /** The model name the client asked for (echoed in responses). */
  clientModel: string;
  /**
   * The upstream sent its first data, before any event may be produced (an adapter that holds its first
   * event back until there is content calls it): the attempt's first-byte deadline is answered.
   */
  onUpstreamData?: () => void;
  /** pino-compatible logger bound to the request (optional). */
  logger?: { debug(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

export type ProviderErrorKind = 'http' | 'connect' | 'timeout' | 'protocol' | 'abort';

/** An upstream failure before the first event was produced. Mapped to the client's format at the edge. */
export class ProviderError extends Error {
  readonly status: number;
  readonly kind: ProviderErrorKind;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly upstreamType?: string;
  readonly headers: Record<string, string>;
  constructor(
    message: string,
    opts: {
      status: number;
      kind: ProviderErrorKind;
      retryable?: boolean;
      retryAfterMs?: number;
      upstreamType?: string;
      headers?: Record<string, string>;
      cause?: unknown;
    },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ProviderError';
    this.status = opts.status;
    this.kind = opts.kind;
    this.retryable = opts.retryable ?? [408, 429, 500, 502, 503, 504, 529].includes(opts.status);
    this.retryAfterMs = opts.retryAfterMs;
    this.upstreamType = opts.upstreamType;
    this.headers = opts.headers ?? {};
  }
}

/**
 * A provider kind's adapter. `send` resolves once the upstream accepted the request (2xx headers) with the
 * answer as canonical events; it rejects with ProviderError for anything before that. After the first
 * event, failures are yielded as a terminal `error` event and the iterable ends (never a fake clean end).
 * `req.stream` decides whether the upstream is called in streaming mode; a non-stream upstream answer is
 * turned into the same event sequence.
 */
export interface ProviderAdapter {
  readonly kind: ProviderKind;
  send(req: CanonicalRequest, target: Target, ctx: UpstreamCallContext): Promise<AsyncIterable<StreamEvent>>;
  /** Upstream token count when the provider supports it; null to fall back to the local count. */
  countTokens?(req: CanonicalRequest, target: Target, ctx: UpstreamCallContext): Promise<number | null>;
}
