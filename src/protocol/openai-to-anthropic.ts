import { isRecord } from '../common/is-record';
import { randomHex } from '../common/random-id';
import { GatewayError } from './errors';
import { openAIMessagesToAnthropic } from './openai-messages-to-anthropic';
import type { OpenAIChatCompletion, OpenAIChatRequest, OpenAITool } from './openai-types';
import { finishReasonToStopReason } from './stop-reason';
import { mintThinkingSignature } from './thinking-signature';
import { sanitizeToolId, type ToolNameMap } from './tool-ids';
import { estimateTokens } from './token-estimate';
import { emptyUsage, openAIUsageToAnthropic } from './usage';
import type {
  CanonicalRequest,
  MessageResponse,
  OpenAIRequestParams,
  ResponseBlock,
  ToolChoice,
  ToolDefinition,
} from './types';

const DEFAULT_MAX_TOKENS = 4096;
/**
 * reasoning_effort → thinking budget (PROTOCOL.md §6.3: low 1024, medium 8192, high 24576). A's minimum
 * budget is 1024; xhigh/max make a 32,000-token turn with ANSWER_TOKENS (Claude Code's usual max_tokens,
 * and the output limit of Claude Opus 4).
 */
const EFFORT_BUDGETS: Record<string, number> = {
  minimal: 1024,
  low: 1024,
  medium: 8192,
  high: 24576,
  xhigh: 27904,
  max: 27904,
};
const MIN_THINKING_BUDGET = 1024;
/** Room for the answer beside the thinking budget: the answer a client without max tokens gets anyway. */
const ANSWER_TOKENS = DEFAULT_MAX_TOKENS;

/**
 * The thinking budget that fits `maxTokens`: A wants 1024 ≤ budget < max_tokens, and the answer keeps at
 * least ANSWER_TOKENS or half of max_tokens, whichever is less (a budget of max_tokens − 1 left one token
 * for the answer). Undefined when even the minimum budget does not fit.
 */
function fitBudget(budget: number, maxTokens: number): number | undefined {
  const reserve = Math.min(ANSWER_TOKENS, Math.floor(maxTokens / 2));
  const fitted = Math.max(MIN_THINKING_BUDGET, Math.min(budget, maxTokens - reserve));
  return fitted < maxTokens ? fitted : undefined;
}

type Rec = Record<string, unknown>;

function bad(message: string): GatewayError {
  return new GatewayError(400, message);
}

function validate(req: OpenAIChatRequest): void {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) {
    throw bad('body: must be a JSON object');
  }
  if (typeof req.model !== 'string' || req.model === '') {
    throw bad('model: required, must be a non-empty string');
  }
  if (!Array.isArray(req.messages) || req.messages.length === 0) {
    throw bad('messages: required, must be a non-empty array');
  }
  // No A equivalent: answering them silently would hand the client something else than it asked for.
  if (req.n !== undefined && req.n !== null && req.n !== 1) {
    throw bad('n: only n=1 is supported');
  }
  if (req.logprobs === true || (typeof req.top_logprobs === 'number' && req.top_logprobs > 0)) {
    throw bad('logprobs: log probabilities are not supported');
  }
  if (req.audio !== undefined && req.audio !== null) {
    throw bad('audio: audio output is not supported');
  }
  if (Array.isArray(req.modalities) && req.modalities.includes('audio')) {
    throw bad('modalities: audio output is not supported');
  }
  if (
    typeof req.logit_bias === 'object' &&
    req.logit_bias !== null &&
    Object.keys(req.logit_bias).length > 0
  ) {
    throw bad('logit_bias: not supported');
  }
  for (const field of ['max_tokens', 'max_completion_tokens'] as const) {
    const v = req[field];
    if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) {
      throw bad(`${field}: must be a positive integer`);
    }
  }
}

function convertTools(tools: OpenAITool[]): ToolDefinition[] {
  return tools.map((tool, i) => {
    if (tool?.type !== 'function' || typeof tool.function?.name !== 'string') {
      throw bad(`tools[${i}]: only {type:"function", function:{name, …}} tools are supported`);
    }
    const params = tool.function.parameters;
    const out: ToolDefinition = {
      name: tool.function.name,
      input_schema: params ? { ...params, type: 'object' } : { type: 'object', properties: {} },
    };
    if (tool.function.description) {
      out.description = tool.function.description;
    }
    return out;
  });
}

const NUMERIC_PARAMS = ['temperature', 'top_p', 'presence_penalty', 'frequency_penalty'] as const;

/**
 * The OpenAI parameters an OpenAI-compatible upstream gets as sent (types.ts OpenAIRequestParams);
 * undefined when the client sent none. `null` is OpenAI's "unset".
 */
function openAIParams(req: OpenAIChatRequest): OpenAIRequestParams | undefined {
  const out: OpenAIRequestParams = {};
  for (const field of NUMERIC_PARAMS) {
    const v = req[field];
    if (v === undefined || v === null) {
      continue;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw bad(`${field}: must be a number`);
    }
    out[field] = v;
  }
  if (req.seed !== undefined && req.seed !== null) {
    if (typeof req.seed !== 'number' || !Number.isInteger(req.seed)) {
      throw bad('seed: must be an integer');
    }
    out.seed = req.seed;
  }
  const strict: Record<string, boolean> = {};
  for (const tool of Array.isArray(req.tools) ? req.tools : []) {
    const fn = tool?.function;
    if (typeof fn?.name === 'string' && typeof fn.strict === 'boolean') {
      strict[fn.name] = fn.strict;
    }
  }
  if (Object.keys(strict).length > 0) {
    out.tool_strict = strict;
  }
  if (typeof req.reasoning_effort === 'string') {
    out.reasoning_effort = req.reasoning_effort;
  }
  const format = responseFormat(req.response_format);
  if (format) {
    out.response_format = format;
  }
  if (isRecord(req.web_search_options)) {
    out.web_search_options = req.web_search_options;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * OpenAI's `web_search_options` (search models) as Anthropic's web search server tool: the request then takes
 * the Router's `webSearch` slot, an Anthropic upstream searches with the tool, a Gemini one with Google Search,
 * and an OpenAI-compatible one gets `web_search_options` back as sent (OpenAIRequestParams).
 */
function webSearchTool(options: unknown): ToolDefinition | undefined {
  if (options === undefined || options === null) {
    return undefined;
  }
  if (!isRecord(options)) {
    throw bad('web_search_options: must be an object');
  }
  const tool: ToolDefinition = { type: 'web_search_20250305', name: 'web_search' };
  const location = isRecord(options.user_location) ? options.user_location.approximate : undefined;
  if (isRecord(location)) {
    const fields = ['city', 'region', 'country', 'timezone'].filter((k) => typeof location[k] === 'string');
    if (fields.length > 0) {
      tool.user_location = { type: 'approximate', ...Object.fromEntries(fields.map((k) => [k, location[k]])) };
    }
  }
  return tool;
}

/** JSON mode as sent; `text` (the default) and an absent value are nothing to keep. */
function responseFormat(format: unknown): OpenAIRequestParams['response_format'] {
  if (format === undefined || format === null) {
    return undefined;
  }
  const type = (format as Rec).type;
  if (type === 'text') {
    return undefined;
  }
  if (type === 'json_object') {
    return { type: 'json_object' };
  }
  const schema = (format as Rec).json_schema;
  if (type === 'json_schema' && typeof schema === 'object' && schema !== null && !Array.isArray(schema)) {
    return { type: 'json_schema', json_schema: schema as Record<string, unknown> };
  }
  throw type === 'json_schema'
    ? bad('response_format.json_schema: required for type "json_schema"')
    : bad('response_format.type: must be "text", "json_object" or "json_schema"');
}

function convertToolChoice(choice: unknown, parallel: unknown): ToolChoice | undefined {
  let out: ToolChoice | undefined;
  if (choice === 'auto' || choice === 'none') {
    out = { type: choice };
  } else if (choice === 'required') {
    out = { type: 'any' };
  } else if (typeof choice === 'object' && choice !== null) {
    const name = ((choice as Rec).function as Rec | undefined)?.name;
    // allowed_tools and custom choices have no A equivalent; auto is the closest.
    out = typeof name === 'string' ? { type: 'tool', name } : { type: 'auto' };
  }
  if (parallel === false) {
    out = { ...(out ?? { type: 'auto' }), disable_parallel_tool_use: true };
  }
  return out;
}

/**
 * OpenAI Chat Completions request → canonical (Anthropic) request (PROTOCOL.md §6.3). Throws
 * GatewayError 400 naming the offending field for anything it cannot represent.
 */
export function openAIRequestToAnthropic(
  req: OpenAIChatRequest,
  opts: { defaultMaxTokens?: number } = {},
): CanonicalRequest {
  validate(req);
  const { system, messages } = openAIMessagesToAnthropic(req.messages);
  const asked = req.max_completion_tokens ?? req.max_tokens ?? undefined;
  const out: CanonicalRequest = {
    model: req.model,
    max_tokens: asked ?? opts.defaultMaxTokens ?? DEFAULT_MAX_TOKENS,
    messages,
  };
  if (system.length > 0) {
    out.system = system;
  }

  const tools = Array.isArray(req.tools) && req.tools.length > 0 ? convertTools(req.tools) : [];
  const webSearch = webSearchTool(req.web_search_options);
  if (webSearch) {
    tools.push(webSearch);
  }
  if (tools.length > 0) {
    out.tools = tools;
    const choice = convertToolChoice(req.tool_choice, req.parallel_tool_calls);
    if (choice) {
      out.tool_choice = choice;
    }
  }

  const budget = typeof req.reasoning_effort === 'string' ? EFFORT_BUDGETS[req.reasoning_effort] : undefined;
  const forced = out.tool_choice?.type === 'any' || out.tool_choice?.type === 'tool';
  // A rejects thinking with a forced tool: the client's explicit tool choice wins over a reasoning hint.
  if (budget !== undefined && !forced) {
    if (asked === undefined) {
      // No limit from the client: the default is the answer's room, the thinking budget comes on top.
      out.max_tokens = Math.max(out.max_tokens, budget + ANSWER_TOKENS);
    }
    const fitted = fitBudget(budget, out.max_tokens);
    if (fitted !== undefined) {
      out.thinking = { type: 'enabled', budget_tokens: fitted };
    }
  }
  const thinking = out.thinking !== undefined;

  // With thinking on, A accepts only default temperature, no top_k and top_p in [0.95, 1]; its temperature
  // range is 0–1. An OpenAI-compatible upstream gets the client's values from `openai_params` instead.
  if (typeof req.temperature === 'number' && !thinking) {
    out.temperature = Math.min(Math.max(req.temperature, 0), 1);
  }
  if (typeof req.top_p === 'number' && (!thinking || req.top_p >= 0.95)) {
    out.top_p = req.top_p;
  }
  if (typeof req.top_k === 'number' && !thinking) {
    out.top_k = req.top_k;
  }
  const stop = typeof req.stop === 'string' ? [req.stop] : Array.isArray(req.stop) ? req.stop : [];
  const stopSequences = stop.filter((s) => typeof s === 'string' && s !== '');
  if (stopSequences.length > 0) {
    out.stop_sequences = stopSequences;
  }
  const format = req.response_format;
  if (format?.type === 'json_schema' && format.json_schema?.schema !== undefined) {
    out.output_config = { format: { type: 'json_schema', schema: format.json_schema.schema } };
  }
  const user = typeof req.user === 'string' && req.user !== '' ? req.user : req.safety_identifier;
  if (typeof user === 'string' && user !== '') {
    out.metadata = { user_id: user };
  }
  if (typeof req.stream === 'boolean') {
    out.stream = req.stream;
  }
  const params = openAIParams(req);
  if (params) {
    out.openai_params = params;
  }
  return out;
}

function reasoningOf(message: Rec): { text: string; signature?: string } {
  const details = Array.isArray(message.reasoning_details) ? (message.reasoning_details as Rec[]) : [];
  const textDetails = details.filter((d) => d?.type === 'reasoning.text' && typeof d.text === 'string');
  const direct = [message.reasoning_content, message.reasoning].find(
    (r) => typeof r === 'string' && r !== '',
  ) as string | undefined;
  const text = direct ?? textDetails.map((d) => d.text as string).join('');
  // OpenRouter → Claude carries Anthropic's own signature; it is only valid for Anthropic's text.
  const signature = textDetails.find((d) => typeof d.signature === 'string' && d.signature !== '')
    ?.signature as string | undefined;
  return { text, signature };
}

function contentText(content: unknown): string {
  if (typeof content === 'string') {
    return content;
  }
  return Array.isArray(content)
    ? (content as Rec[])
        .filter((p) => p?.type === 'text' && typeof p.text === 'string')
        .map((p) => p.text as string)
        .join('')
    : '';
}

function parseArguments(args: unknown): Record<string, unknown> {
  if (typeof args !== 'string' || args.trim() === '') {
    return {};
  }
  try {
    const parsed: unknown = JSON.parse(args);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/** Keeps the upstream id recognisable in logs (msg_chatcmpl-…) while giving clients the msg_ prefix. */
function messageId(upstreamId: unknown): string {
  if (typeof upstreamId !== 'string' || upstreamId === '') {
    return `msg_${randomHex(12)}`;
  }
  return upstreamId.startsWith('msg_') ? upstreamId : `msg_${upstreamId.replace(/[^a-zA-Z0-9_-]/g, '_')}`;
}

/**
 * OpenAI chat.completion → Anthropic Message (PROTOCOL.md §6.4 O→A): blocks in thinking → text →
 * tool_use order, every thinking block signed, tool ids sanitised, shortened tool names mapped back.
 */
export function openAICompletionToAnthropicMessage(
  resp: OpenAIChatCompletion,
  opts: {
    model: string;
    toolNames?: ToolNameMap;
    inputTokensEstimate?: number;
    mintSignature?: (t: string) => string;
  },
): MessageResponse {
  const choice = resp?.choices?.[0];
  if (!choice || typeof choice.message !== 'object' || choice.message === null) {
    throw new GatewayError(502, 'upstream returned no choices', { type: 'api_error' });
  }
  const finish = choice.finish_reason;
  if (finish === 'error' || finish === 'insufficient_system_resource') {
    const upstreamMessage = ((choice as Rec).error as Rec | undefined)?.message;
    const message =
      typeof upstreamMessage === 'string' ? upstreamMessage : `upstream finished with "${finish}"`;
    throw finish === 'error'
      ? new GatewayError(500, message, { type: 'api_error' })
      : new GatewayError(529, message, { type: 'overloaded_error' });
  }
  const message = choice.message as Rec;
  const content: ResponseBlock[] = [];
  const reasoning = reasoningOf(message);
  if (reasoning.text !== '') {
    const mint = opts.mintSignature ?? mintThinkingSignature;
    content.push({
      type: 'thinking',
      thinking: reasoning.text,
      signature: reasoning.signature ?? mint(reasoning.text),
    });
  }
  const text = contentText(message.content) || (typeof message.refusal === 'string' ? message.refusal : '');
  if (text !== '') {
    content.push({ type: 'text', text });
  }
  let toolArgs = '';
  for (const call of Array.isArray(message.tool_calls) ? (message.tool_calls as unknown[]) : []) {
    const fn = (isRecord(call) && isRecord(call.function) ? call.function : {}) as Rec;
    const name = typeof fn.name === 'string' ? fn.name : '';
    if (!isRecord(call) || name === '') {
      continue; // not a call a client could run (the streamed answer drops nameless calls too)
    }
    toolArgs += typeof fn.arguments === 'string' ? fn.arguments : '';
    content.push({
      type: 'tool_use',
      id: sanitizeToolId(call.id as string | number | undefined),
      name: opts.toolNames ? opts.toolNames.original(name) : name,
      input: parseArguments(fn.arguments),
    });
  }
  const sawToolCall = content.some((b) => b.type === 'tool_use');
  const usage = resp.usage
    ? openAIUsageToAnthropic(resp.usage)
    : {
        ...emptyUsage(opts.inputTokensEstimate),
        output_tokens: estimateTokens(reasoning.text + text + toolArgs),
      };
  return {
    id: messageId(resp.id),
    type: 'message',
    role: 'assistant',
    model: opts.model,
    content,
    stop_reason: finishReasonToStopReason(finish, sawToolCall),
    stop_sequence: null,
    usage,
  };
}
