/** OpenAI Chat Completions wire types (PROTOCOL.md §5), loose where providers vary. */

export interface OpenAITextPart {
  type: 'text';
  text: string;
  cache_control?: unknown;
}
export interface OpenAIImagePart {
  type: 'image_url';
  image_url: { url: string; detail?: string };
}
export interface OpenAIFilePart {
  type: 'file';
  file: { file_data?: string; file_id?: string; filename?: string };
}
export type OpenAIContentPart =
  OpenAITextPart | OpenAIImagePart | OpenAIFilePart | { type: string; [k: string]: unknown };

export interface OpenAIToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface OpenAIMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'function';
  content?: string | OpenAIContentPart[] | null;
  name?: string;
  tool_calls?: OpenAIToolCall[];
  tool_call_id?: string;
  reasoning_content?: string;
  reasoning?: string;
  reasoning_details?: unknown[];
  refusal?: string | null;
  [key: string]: unknown;
}

export interface OpenAITool {
  type: 'function' | string;
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

export type OpenAIToolChoice =
  | 'none'
  | 'auto'
  | 'required'
  | { type: 'function'; function: { name: string } }
  | { type: string; [k: string]: unknown };

export interface OpenAIChatRequest {
  model: string;
  messages: OpenAIMessage[];
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stop?: string | string[];
  n?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean; [k: string]: unknown };
  tools?: OpenAITool[];
  tool_choice?: OpenAIToolChoice;
  parallel_tool_calls?: boolean;
  reasoning_effort?: string;
  web_search_options?: Record<string, unknown> | null;
  response_format?: { type: string; json_schema?: { name?: string; schema?: unknown; strict?: boolean } };
  user?: string;
  [key: string]: unknown;
}

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number; [k: string]: unknown };
  completion_tokens_details?: { reasoning_tokens?: number; [k: string]: unknown };
  /** DeepSeek */
  prompt_cache_hit_tokens?: number;
  prompt_cache_miss_tokens?: number;
  [key: string]: unknown;
}

export interface OpenAIChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: OpenAIMessage & { role: 'assistant' };
    logprobs?: null;
    finish_reason: string | null;
  }>;
  usage?: OpenAIUsage;
  [key: string]: unknown;
}

export interface OpenAIChunkDelta {
  role?: string;
  content?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  reasoning_details?: unknown[];
  tool_calls?: Array<{
    index?: number;
    id?: string;
    type?: string;
    function?: { name?: string; arguments?: string };
  }>;
  [key: string]: unknown;
}

export interface OpenAIChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{ index: number; delta: OpenAIChunkDelta; finish_reason: string | null; logprobs?: null }>;
  usage?: OpenAIUsage | null;
  [key: string]: unknown;
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | number | null };
}
