/** Public contract of the fake LLM provider (tests, demos and benchmarks code against this file). */

export interface FakeProviderOptions {
  /** 0 = ephemeral (default). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Merged over the built-in defaults; `reset()` returns to these. */
  defaults?: Partial<FakeBehaviour>;
  /** Size of the request log (default 10,000; oldest dropped first). */
  maxRecorded?: number;
  /** Keep parsed request bodies in the log (default true; benchmarks with huge prompts may turn it off). */
  recordBodies?: boolean;
}

export type FakeQuirk = 'groq' | 'glm' | 'deepseek' | 'openrouter' | 'usage-every-chunk';

/** OpenAI-style finish reason of the answer; mapped to each API's own vocabulary. */
export type FakeFinish = 'stop' | 'length' | 'content_filter';

export interface FakeBehaviour {
  /** Latency before response headers / first byte. */
  firstByteDelayMs: number;
  /** When set, the first-byte latency is drawn log-normally from this profile instead. */
  firstByteProfile?: { medianMs: number; p95Ms: number } | null;
  /** The answer text (and reasoning) is split into this many deltas. */
  chunkCount: number;
  /** Delay between deltas (non-stream answers wait the same total before replying). */
  chunkGapMs: number;
  /**
   * Streams only: after the headers and the head frame (OpenAI's role-only chunk, Anthropic's message_start)
   * are written, wait this long before the first delta — a slow prefill before the first token.
   */
  firstDeltaDelayMs?: number;
  /** Answer text; null → `textBytes` filler if set, else "Hello from fake provider" (none when answering with a tool call). */
  text: string | null;
  /** Generate ASCII filler of exactly this many bytes when `text` is null. */
  textBytes?: number | null;
  /**
   * Answer with a tool call. `argumentsText` replaces the streamed/returned argument text (default
   * `JSON.stringify(arguments)`): `""` is a tool without parameters (Anthropic then streams one empty
   * `input_json_delta`), a JSON prefix with `finish: 'length'` is a call cut off by max_tokens.
   */
  toolCall?: { name: string; arguments: Record<string, unknown>; argumentsText?: string } | null;
  /**
   * The model refuses, in each API's own way: OpenAI streams `delta.refusal` (non-stream `message.refusal`,
   * finish as configured, default stop); Anthropic answers `stop_reason: "refusal"` with this text as
   * `stop_details.explanation`; Gemini finishes with SAFETY. No answer text unless `text` is set too.
   */
  refusal?: string | null;
  /** Reasoning / thinking text streamed before the answer. */
  reasoning?: string | null;
  /** `input` = uncached prompt tokens; OpenAI prompt_tokens = input + cacheRead. `cacheCreation`: Anthropic only. */
  usage: { input: number; output: number; cacheRead?: number; cacheCreation?: number };
  /** Default 'stop' (forced to tool_calls / tool_use when a tool call is answered, unless 'length'). */
  finish?: FakeFinish | null;
  fault?: Fault | null;
  /** Wire quirks of real providers, OpenAI endpoint only (PROTOCOL §5.4). */
  quirk?: FakeQuirk | null;
  /** Extra response headers on answers and status faults (e.g. `anthropic-ratelimit-requests-remaining`). */
  responseHeaders?: Record<string, string> | null;
}

export type Fault =
  | { type: 'status'; status: number; retryAfter?: number; body?: unknown }
  /** Connection destroyed on accept (instance behaviour only; as a per-request directive it acts like `reset`). */
  | { type: 'refuse' }
  /** Accept the request, then destroy the socket before headers. */
  | { type: 'reset' }
  /** Never send headers (until the client aborts or the server closes). */
  | { type: 'hang' }
  /** Send headers + the first event(s), then nothing. */
  | { type: 'stall-after-first-byte' }
  /** Send some chunks, then end the response without finish / [DONE] / message_stop. */
  | { type: 'cut' }
  /** A malformed JSON chunk in the middle of the stream (non-stream: a truncated JSON body). */
  | { type: 'malformed' }
  /** OpenAI: finish + usage but no [DONE]; Anthropic: message_delta but no message_stop. */
  | { type: 'missing-done' }
  /**
   * An in-band error after some chunks (OpenAI `data: {"error":…}`, Anthropic `event: error`), then end.
   * `afterDeltas`: content deltas sent first (default about half; 0 = right after the head: OpenAI's role
   * chunk, Anthropic's message_start). `code`: a numeric status in the OpenAI / Gemini error object.
   */
  | { type: 'stream-error'; errorType?: string; message?: string; afterDeltas?: number; code?: number };

export type RecordedApi = 'openai' | 'anthropic' | 'gemini' | 'models' | 'count_tokens' | 'other';

export interface RecordedRequest {
  seq: number;
  at: number;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  api: RecordedApi;
  stream: boolean;
  model?: string;
  /** True if the client's socket closed before the response ended. */
  closedByClient: boolean;
  /** When the client close was seen (Date.now()). */
  clientClosedAt?: number;
  /** When the response ended (or the socket went away). */
  finishedAt?: number;
  /** HTTP status sent (undefined when no headers went out). */
  status?: number;
  /** Fault applied to this request, if any. */
  fault?: Fault['type'];
}

export interface FakeProvider {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Every request, in arrival order (bounded; `/__fake/*` control calls are not recorded). */
  requests: RecordedRequest[];
  count(filter?: Partial<Pick<RecordedRequest, 'api' | 'path' | 'model'>>): number;
  /** Per-instance behaviour (merged over the current configuration and defaults). */
  configure(b: Partial<FakeBehaviour>): void;
  /** Clear the log, counters and behaviour back to defaults. */
  reset(): void;
  waitFor(pred: (r: RecordedRequest[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Open requests right now. */
  inFlight(): number;
  /** High-water mark of inFlight() since start/reset. */
  maxInFlight(): number;
  /** Connections destroyed on accept by the `refuse` fault since start/reset. */
  refusedConnections(): number;
  /** The behaviour currently in force (defaults + configure()). */
  behaviour(): FakeBehaviour;
  /** Closes the server and destroys open sockets. */
  close(): Promise<void>;
}

export const BUILTIN_BEHAVIOUR: FakeBehaviour = {
  firstByteDelayMs: 0,
  firstByteProfile: null,
  chunkCount: 3,
  chunkGapMs: 0,
  text: null,
  textBytes: null,
  toolCall: null,
  reasoning: null,
  usage: { input: 10, output: 20, cacheRead: 0 },
  finish: null,
  fault: null,
  quirk: null,
};

export const DEFAULT_TEXT = 'Hello from fake provider';
