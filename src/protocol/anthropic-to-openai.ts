import { createHash } from 'node:crypto';
import type { AnswerNotes } from './accumulate';
import { anthropicMessagesToOpenAI, systemContent } from './anthropic-messages-to-openai';
import { GatewayError } from './errors';
import type {
  OpenAIChatCompletion,
  OpenAIChatRequest,
  OpenAIMessage,
  OpenAITool,
  OpenAIToolCall,
} from './openai-types';
import { finishReasonFor, refusalMessage } from './stop-reason';
import { ToolNameMap } from './tool-ids';
import { toolsetOf } from './toolset-intern';
import { anthropicUsageToOpenAI } from './usage';
import type { CanonicalRequest, MessageResponse, ToolDefinition } from './types';

export interface OpenAIRequestOptions {
  /** Upstream model id. */
  model: string;
  /** Default `max_tokens`: many compatible servers (DeepSeek, older vLLM/Ollama) know only that one. */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
  maxTokensCap?: number;
  /** How the upstream spells reasoning; default 'none' (thinking is not forwarded). */
  reasoning?: 'openai' | 'openrouter' | 'deepseek' | 'none';
  /** Default true: adds `stream_options.include_usage` to streaming requests. */
  includeUsage?: boolean;
  /** Keep `cache_control` on system/user text parts (OpenRouter → Claude honours it). */
  keepCacheControl?: boolean;
  supportsTopK?: boolean;
  /** Shared with the response converter so that shortened names (> 64 chars) map back. */
  toolNames?: ToolNameMap;
}

const OPENAI_MAX_STOP = 4;

/** Budget → effort thresholds of llms' getThinkLevel (PROTOCOL.md §6.1). */
function effortForBudget(budget: number): 'low' | 'medium' | 'high' {
  return budget <= 1024 ? 'low' : budget <= 8192 ? 'medium' : 'high';
}

/** A tool with a `type` other than "custom" is an Anthropic server tool (web_search_…, bash_…, memory_…). */
function isServerTool(tool: ToolDefinition): boolean {
  return tool.type !== undefined && tool.type !== 'custom';
}

function convertTool(tool: ToolDefinition, names: ToolNameMap): OpenAITool {
  const schema = tool.input_schema ?? {};
  // LM Studio and others reject function schemas without `properties` (claude-code-router#272).
  const parameters: Record<string, unknown> = {
    ...schema,
    type: 'object',
    properties: schema.properties ?? {},
  };
  const fn: OpenAITool['function'] = { name: names.upstream(tool.name), parameters };
  if (typeof tool.description === 'string' && tool.description !== '') {
    fn.description = tool.description;
  }
  if (typeof tool.strict === 'boolean') {
    fn.strict = tool.strict;
  }
  return { type: 'function', function: fn };
}

/**
 * A stable, opaque `user`: OpenAI limits it to 64 characters and it should not leak Claude Code's ids.
 * Claude Code's metadata.user_id embeds a per-session id (legacy `user_<h>_account_<uuid>_session_<uuid>`,
 * or since 2.1.78 a JSON string); hashing only the account/device part keeps one user one `user`.
 */
export function hashUserId(userId: string): string {
  let identity = userId;
  if (userId.startsWith('{')) {
    try {
      const parsed = JSON.parse(userId) as Record<string, unknown>;
      const stable = [parsed.account_uuid, parsed.device_id].find((v) => typeof v === 'string' && v !== '');
      identity = typeof stable === 'string' ? stable : userId;
    } catch {
      // Not JSON after all: hash the raw value.
    }
  } else {
    const legacy = /^user_([a-zA-Z0-9]+)_account_([a-zA-Z0-9-]*)_session_/.exec(userId);
    identity = legacy ? legacy[2] || legacy[1] : userId;
  }
  return createHash('sha256').update(identity).digest('hex').slice(0, 64);
}

/** Adds the upstream's reasoning fields; returns whether reasoning was requested from it. */
function applyReasoning(
  out: OpenAIChatRequest,
  req: CanonicalRequest,
  dialect: OpenAIRequestOptions['reasoning'],
): boolean {
  const asked = req.openai_params?.reasoning_effort;
  if (dialect === 'openai' && asked !== undefined) {
    // An OpenAI client's own effort to an OpenAI reasoning model, as it said it ("none", "minimal", "xhigh"
    // have no thinking budget of their own), beside its own tool_choice: OpenAI takes the pair.
    out.reasoning_effort = asked;
    return false;
  }
  const thinking = req.thinking;
  if (dialect === 'deepseek' && thinking?.type === 'disabled') {
    // DeepSeek/GLM models may think by default; an explicit "disabled" must be said out loud.
    out.thinking = { type: 'disabled' };
    return false;
  }
  if (!thinking || thinking.type === 'disabled' || !dialect || dialect === 'none') {
    return false;
  }
  const effort =
    thinking.type === 'enabled'
      ? effortForBudget(thinking.budget_tokens)
      : (req.output_config?.effort ?? 'medium');
  switch (dialect) {
    case 'openai':
      out.reasoning_effort = effort;
      break;
    case 'openrouter':
      out.reasoning = thinking.type === 'enabled' ? { max_tokens: thinking.budget_tokens } : { effort };
      break;
    case 'deepseek':
      out.thinking = { type: 'enabled' };
      break;
  }
  return true;
}

const OPENAI_TOOLS = Symbol('openai tools');

/**
 * The converted tools. With a plain ToolNameMap the conversion is a pure function of the tools (the
 * upstream name is shortenToolName(name), whatever the map holds), so it is done once per interned
 * toolset and shared, deep-frozen, with its JSON text memoised for the upstream body
 * (stringifyWithInterned). The map still learns every name, in the same order, for the way back.
 * Any other name mapper (a transformer's own) gets the per-request conversion.
 */
function convertTools(req: CanonicalRequest, names: ToolNameMap): OpenAITool[] {
  const plainNames =
    Object.getPrototypeOf(names) === ToolNameMap.prototype &&
    !Object.prototype.hasOwnProperty.call(names, 'upstream');
  const toolset = plainNames ? toolsetOf(req.tools) : undefined;
  if (toolset === undefined) {
    return (req.tools ?? []).filter((t) => !isServerTool(t)).map((t) => convertTool(t, names));
  }
  const tools = toolset.derive(OPENAI_TOOLS, (defs) => {
    const fresh = new ToolNameMap();
    return (defs as unknown as ToolDefinition[])
      .filter((t) => !isServerTool(t))
      .map((t) => convertTool(t, fresh));
  });
  for (const t of toolset.tools as unknown as ToolDefinition[]) {
    if (!isServerTool(t)) {
      names.upstream(t.name);
    }
  }
  return tools;
}

/** The OpenAI client's `function.strict` flags, on copies (converted toolsets are shared and frozen). */
function withStrict(tools: OpenAITool[], strict: Record<string, boolean>, names: ToolNameMap): OpenAITool[] {
  return tools.map((t) => {
    const flag = strict[names.original(t.function.name)];
    return typeof flag === 'boolean' ? { ...t, function: { ...t.function, strict: flag } } : t;
  });
}

function applyTools(
  out: OpenAIChatRequest,
  req: CanonicalRequest,
  names: ToolNameMap,
  reasoningOn: boolean,
): void {
  const converted = convertTools(req, names);
  if (converted.length === 0) {
    // Without tools, tool_choice and parallel_tool_calls are rejected by OpenAI.
    return;
  }
  const strict = req.openai_params?.tool_strict;
  const tools = strict ? withStrict(converted, strict, names) : converted;
  out.tools = tools;
  const choice = req.tool_choice;
  if (!choice) {
    return;
  }
  // Reasoning upstreams reject forced tool use (DeepSeek reasoner, Claude thinking); keep the tools, drop the force.
  const forced = choice.type === 'any' || choice.type === 'tool';
  if (forced && reasoningOn) {
    out.tool_choice = 'auto';
  } else if (choice.type === 'tool') {
    const name = names.upstream(choice.name);
    // Forcing a tool that was not sent (a dropped server tool such as web_search) would be a 400.
    if (tools.some((t) => t.function.name === name)) {
      out.tool_choice = { type: 'function', function: { name } };
    }
  } else {
    out.tool_choice = choice.type === 'any' ? 'required' : choice.type;
  }
  if (choice.disable_parallel_tool_use === true) {
    out.parallel_tool_calls = false;
  }
}

/**
 * An OpenAI client's own sampling parameters go through unchanged (temperature 0–2, top_p beside it, seed,
 * penalties); otherwise the canonical ones, where newer models reject temperature together with top_p and
 * temperature is the one clients mean.
 */
function applySampling(out: OpenAIChatRequest, req: CanonicalRequest): void {
  const params = req.openai_params;
  if (params?.temperature !== undefined || params?.top_p !== undefined) {
    if (typeof params.temperature === 'number') {
      out.temperature = params.temperature;
    }
    if (typeof params.top_p === 'number') {
      out.top_p = params.top_p;
    }
  } else if (typeof req.temperature === 'number') {
    out.temperature = req.temperature;
  } else if (typeof req.top_p === 'number') {
    out.top_p = req.top_p;
  }
  for (const field of ['seed', 'presence_penalty', 'frequency_penalty'] as const) {
    if (typeof params?.[field] === 'number') {
      out[field] = params[field];
    }
  }
}

/**
 * Anthropic Messages request → OpenAI Chat Completions request (PROTOCOL.md §6.1, §6.2). Fields with no O
 * meaning (context_management, container, service_tier, cache_control, unknown extensions) are dropped.
 */
export function anthropicToOpenAIRequest(
  req: CanonicalRequest,
  opts: OpenAIRequestOptions,
): OpenAIChatRequest {
  if (!Array.isArray(req.messages)) {
    throw new GatewayError(400, 'messages: must be an array');
  }
  const names = opts.toolNames ?? new ToolNameMap();
  const keepCacheControl = opts.keepCacheControl === true;
  const messages: OpenAIMessage[] = [];
  const system = systemContent(req.system, keepCacheControl);
  if (system !== undefined) {
    messages.push({ role: 'system', content: system });
  }
  messages.push(
    ...anthropicMessagesToOpenAI(req.messages, {
      reasoning: opts.reasoning ?? 'none',
      keepCacheControl,
      toolNames: names,
    }),
  );
  const out: OpenAIChatRequest = { model: opts.model, messages };

  const cap = opts.maxTokensCap;
  const requested = typeof req.max_tokens === 'number' && req.max_tokens > 0 ? req.max_tokens : undefined;
  const maxTokens =
    requested !== undefined && cap !== undefined && cap > 0 ? Math.min(requested, cap) : (requested ?? cap);
  if (maxTokens !== undefined) {
    out[opts.maxTokensField ?? 'max_tokens'] = maxTokens;
  }

  const reasoningOn = applyReasoning(out, req, opts.reasoning);
  applyTools(out, req, names, reasoningOn);

  applySampling(out, req);
  if (opts.supportsTopK === true && typeof req.top_k === 'number') {
    out.top_k = req.top_k;
  }
  const stop = (req.stop_sequences ?? [])
    .filter((s) => typeof s === 'string' && s !== '')
    .slice(0, OPENAI_MAX_STOP);
  if (stop.length > 0) {
    out.stop = stop;
  }
  // An OpenAI client's JSON mode as it sent it (name, strict, description); else Anthropic's structured output.
  const asked = req.openai_params?.response_format;
  const format = req.output_config?.format;
  if (asked) {
    out.response_format = asked;
  } else if (format?.type === 'json_schema') {
    out.response_format = {
      type: 'json_schema',
      json_schema: { name: 'structured_output', schema: format.schema, strict: true },
    };
  }
  const userId = req.metadata?.user_id;
  if (typeof userId === 'string' && userId !== '') {
    out.user = hashUserId(userId);
  }
  // Only an OpenAI client's own: not every OpenAI-compatible model takes it (OpenAI's search models do).
  if (req.openai_params?.web_search_options) {
    out.web_search_options = req.openai_params.web_search_options;
  }
  if (req.stream === true) {
    out.stream = true;
    if (opts.includeUsage !== false) {
      out.stream_options = { include_usage: true };
    }
  }
  return out;
}

/** Anthropic Message → OpenAI chat.completion (PROTOCOL.md §6.4 A→O), for OpenAI-ingress clients. */
export function anthropicMessageToOpenAICompletion(
  msg: MessageResponse,
  opts: {
    model: string;
    id?: string;
    created?: number;
    reasoningField?: 'reasoning_content' | null;
    /** What the accumulated Message left out (tool argument text that is not JSON, refusal blocks). */
    notes?: AnswerNotes;
  },
): OpenAIChatCompletion {
  let text = '';
  let refusal = '';
  let thinking = '';
  const toolCalls: OpenAIToolCall[] = [];
  for (const [index, block] of (msg.content ?? []).entries()) {
    const b = block as Record<string, unknown>;
    if (b.type === 'text' && typeof b.text === 'string' && opts.notes?.refusalBlocks.has(index) === true) {
      refusal += b.text;
    } else if (b.type === 'text' && typeof b.text === 'string') {
      text += b.text;
    } else if (b.type === 'thinking' && typeof b.thinking === 'string') {
      thinking += b.thinking;
    } else if (b.type === 'tool_use') {
      toolCalls.push({
        id: String(b.id),
        type: 'function',
        function: {
          name: String(b.name),
          // As the stream gave them: a call cut off by max_tokens keeps its partial arguments.
          arguments: opts.notes?.rawToolInputs.get(index) ?? JSON.stringify(b.input ?? {}),
        },
      });
    }
  }
  const message: OpenAIChatCompletion['choices'][number]['message'] = {
    role: 'assistant',
    content: text === '' ? null : text,
    refusal:
      refusal !== '' ? refusal : msg.stop_reason === 'refusal' ? refusalMessage(msg.stop_details) : null,
  };
  if (toolCalls.length > 0) {
    message.tool_calls = toolCalls;
  }
  const reasoningField = opts.reasoningField === undefined ? 'reasoning_content' : opts.reasoningField;
  if (reasoningField !== null && thinking !== '') {
    message[reasoningField] = thinking;
  }
  return {
    id: opts.id ?? `chatcmpl-${msg.id.replace(/^msg_/, '')}`,
    object: 'chat.completion',
    created: opts.created ?? Math.floor(Date.now() / 1000),
    model: opts.model,
    choices: [
      {
        index: 0,
        message,
        logprobs: null,
        finish_reason: finishReasonFor(msg.stop_reason, toolCalls.length > 0),
      },
    ],
    usage: anthropicUsageToOpenAI(msg.usage),
  };
}
