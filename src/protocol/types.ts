/**
 * Canonical types. Inside Switchyard every request is a CanonicalRequest (the Anthropic Messages shape)
 * and every answer is a sequence of StreamEvents (the Anthropic stream grammar). Conversion to and from
 * other wire formats happens only at the edges (see ARCHITECTURE.md §1).
 */

export interface CacheControl {
  type: 'ephemeral';
  ttl?: string;
}

export interface TextBlock {
  type: 'text';
  text: string;
  cache_control?: CacheControl;
  citations?: unknown;
}

export type ImageSource =
  | { type: 'base64'; media_type: string; data: string }
  | { type: 'url'; url: string }
  | { type: 'file'; file_id: string };

export interface ImageBlock {
  type: 'image';
  source: ImageSource;
  cache_control?: CacheControl;
}

export interface DocumentBlock {
  type: 'document';
  source: {
    type: string;
    media_type?: string;
    data?: unknown;
    url?: string;
    file_id?: string;
    content?: unknown;
  };
  title?: string;
  context?: string;
  citations?: unknown;
  cache_control?: CacheControl;
}

export interface ToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: Record<string, unknown>;
  cache_control?: CacheControl;
}

/** Any block type we do not model explicitly (server_tool_use, web_search_tool_result, search_result…). */
export interface OtherBlock {
  type: string;
  [key: string]: unknown;
}

export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content?: string | Array<TextBlock | ImageBlock | DocumentBlock | OtherBlock>;
  is_error?: boolean;
  cache_control?: CacheControl;
}

export interface ThinkingBlock {
  type: 'thinking';
  thinking: string;
  signature: string;
}

export interface RedactedThinkingBlock {
  type: 'redacted_thinking';
  data: string;
}

export type ContentBlock =
  | TextBlock
  | ImageBlock
  | DocumentBlock
  | ToolUseBlock
  | ToolResultBlock
  | ThinkingBlock
  | RedactedThinkingBlock;

/** A message of the conversation. `system` entries come from Claude Code's mid-conversation-system beta. */
export interface CanonicalMessage {
  role: 'user' | 'assistant' | 'system';
  content: string | Array<ContentBlock | OtherBlock>;
}

export interface ToolDefinition {
  name: string;
  description?: string;
  input_schema?: Record<string, unknown>;
  /** Absent or "custom" for client tools; e.g. "web_search_20250305" for server tools. */
  type?: string;
  cache_control?: CacheControl;
  [key: string]: unknown;
}

export type ToolChoice =
  | { type: 'auto' | 'any' | 'none'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean };

export type ThinkingConfig =
  | { type: 'enabled'; budget_tokens: number; display?: string }
  | { type: 'disabled' }
  | { type: 'adaptive'; display?: string };

export interface OutputConfig {
  effort?: string;
  format?: { type: 'json_schema'; schema: unknown; [key: string]: unknown };
  [key: string]: unknown;
}

/**
 * OpenAI Chat Completions parameters as the client sent them (OpenAI ingress only; absent when it sent none
 * of them). The canonical fields hold what Anthropic accepts — temperature clamped to 0–1, no top_p beside a
 * thinking budget, no seed or penalties, structured output only as `output_config.format`; OpenAI-compatible
 * upstreams get these instead, unchanged (Gemini reads the temperature and JSON mode). Never sent to an
 * Anthropic upstream. Part of the cache key: every one of them changes the answer.
 */
export interface OpenAIRequestParams {
  temperature?: number;
  top_p?: number;
  seed?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  /** `json_object`, or `json_schema` with its `json_schema` object as sent (`text`, the default, is not kept). */
  response_format?: { type: 'json_object' } | { type: 'json_schema'; json_schema: Record<string, unknown> };
  /** `tools[].function.strict` by tool name, as sent. */
  tool_strict?: Record<string, boolean>;
  /** As sent (`minimal`, `xhigh`… have no distinct thinking budget); used by upstreams that take `reasoning_effort`. */
  reasoning_effort?: string;
  /** As sent: an OpenAI-compatible upstream gets it back; the canonical request carries a web_search tool. */
  web_search_options?: Record<string, unknown>;
}

/** The Anthropic Messages request body. Unknown fields are kept (passthrough to Anthropic-kind upstreams). */
export interface CanonicalRequest {
  model: string;
  max_tokens: number;
  messages: CanonicalMessage[];
  system?: string | TextBlock[];
  tools?: ToolDefinition[];
  tool_choice?: ToolChoice;
  thinking?: ThinkingConfig;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stop_sequences?: string[];
  stream?: boolean;
  metadata?: { user_id?: string; [key: string]: unknown };
  output_config?: OutputConfig;
  /** Extension, not an Anthropic field: see OpenAIRequestParams. */
  openai_params?: OpenAIRequestParams;
  [key: string]: unknown;
}

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  [key: string]: unknown;
}

export type StopReason =
  | 'end_turn'
  | 'max_tokens'
  | 'stop_sequence'
  | 'tool_use'
  | 'pause_turn'
  | 'refusal'
  | 'model_context_window_exceeded';

export type ResponseBlock = TextBlock | ThinkingBlock | RedactedThinkingBlock | ToolUseBlock | OtherBlock;

/** Anthropic Message (non-streaming answer, and the skeleton inside message_start). */
export interface MessageResponse {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: ResponseBlock[];
  stop_reason: StopReason | null;
  stop_sequence: string | null;
  usage: Usage;
  [key: string]: unknown;
}

export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'billing_error'
  | 'permission_error'
  | 'not_found_error'
  | 'conflict_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'timeout_error'
  | 'overloaded_error';

export interface ErrorPayload {
  type: AnthropicErrorType;
  message: string;
}

export type BlockDelta =
  | { type: 'text_delta'; text: string }
  | { type: 'input_json_delta'; partial_json: string }
  | { type: 'thinking_delta'; thinking: string }
  | { type: 'signature_delta'; signature: string }
  | { type: 'citations_delta'; citation: unknown };

export interface MessageStartEvent {
  type: 'message_start';
  message: MessageResponse;
}
export interface ContentBlockStartEvent {
  type: 'content_block_start';
  index: number;
  content_block: ResponseBlock;
  /**
   * Internal, never written to an Anthropic client: this text block is the model's refusal message (an
   * OpenAI upstream's `refusal`), which an OpenAI client gets as `refusal` instead of `content`.
   */
  refusal?: true;
}
export interface ContentBlockDeltaEvent {
  type: 'content_block_delta';
  index: number;
  delta: BlockDelta;
}
export interface ContentBlockStopEvent {
  type: 'content_block_stop';
  index: number;
}
export interface MessageDeltaEvent {
  type: 'message_delta';
  delta: { stop_reason: StopReason | null; stop_sequence: string | null; [key: string]: unknown };
  /** Cumulative totals; output_tokens always present. */
  usage: Partial<Usage> & { output_tokens: number };
}
export interface MessageStopEvent {
  type: 'message_stop';
}
export interface PingEvent {
  type: 'ping';
}
export interface ErrorEvent {
  type: 'error';
  error: ErrorPayload;
}

/** The canonical event stream: the Anthropic stream grammar (PROTOCOL.md §3.2). */
export type StreamEvent =
  | MessageStartEvent
  | ContentBlockStartEvent
  | ContentBlockDeltaEvent
  | ContentBlockStopEvent
  | MessageDeltaEvent
  | MessageStopEvent
  | PingEvent
  | ErrorEvent;
