import { GatewayError } from './errors';
import { isMintedSignature } from './thinking-signature';
import { sanitizeToolId } from './tool-ids';
import { systemBlocksOf, toolsetOf } from './toolset-intern';
import type { CanonicalMessage, CanonicalRequest, TextBlock } from './types';

export interface PassthroughOptions {
  /** api.anthropic.com: body and betas forwarded as-is apart from the repairs below. */
  firstParty: boolean;
  /** Third-party allowlist of top-level fields; default DEFAULT_THIRD_PARTY_FIELDS. */
  allowFields?: string[];
  /** Upstream model id. */
  model: string;
  maxTokensCap?: number;
  /** The client's anthropic-beta header. */
  betas?: string;
  /** Third-party allowlist of betas; default none. */
  allowBetas?: string[];
}

export const DEFAULT_THIRD_PARTY_FIELDS = [
  'model',
  'max_tokens',
  'messages',
  'system',
  'tools',
  'tool_choice',
  'thinking',
  'temperature',
  'top_p',
  'top_k',
  'stop_sequences',
  'stream',
  'metadata',
];

/** The pattern DeepSeek's A endpoint (and Anthropic's docs) hold metadata.user_id to. */
const SAFE_USER_ID = /^[a-zA-Z0-9_-]+$/;
/** Adaptive thinking's effort → an explicit budget, for third parties that only know `enabled`. */
const EFFORT_BUDGETS: Record<string, number> = { low: 1024, medium: 8192, high: 24576, max: 32000 };
const MIN_THINKING_BUDGET = 1024;

type Rec = Record<string, unknown>;
type Block = Rec & { type?: unknown };

const blank = (v: unknown): boolean => typeof v !== 'string' || v.trim() === '';

/** Repairs one block; undefined drops it (empty text/thinking, minted signatures A would reject). */
function repairBlock(block: Block): Block | undefined {
  switch (block.type) {
    case 'text':
      return blank(block.text) ? undefined : block;
    case 'thinking':
      return blank(block.thinking) || isMintedSignature(block.signature) ? undefined : block;
    case 'tool_use':
      return { ...block, id: sanitizeToolId(block.id as string) };
    case 'tool_result': {
      const out: Block = { ...block, tool_use_id: sanitizeToolId(block.tool_use_id as string) };
      if (Array.isArray(block.content)) {
        const content = (block.content as Block[]).filter((c) => c?.type !== 'text' || !blank(c.text));
        if (content.length > 0) {
          out.content = content;
        } else {
          delete out.content;
        }
      }
      return out;
    }
    default:
      return block;
  }
}

function systemText(content: CanonicalMessage['content']): TextBlock[] {
  if (typeof content === 'string') {
    return blank(content) ? [] : [{ type: 'text', text: content }];
  }
  return (content as Block[]).filter((b) => b?.type === 'text' && !blank(b.text)) as unknown as TextBlock[];
}

/** Text that is there but only whitespace, and nothing else: a message A would refuse. */
function onlyWhitespaceText(content: CanonicalMessage['content']): boolean {
  if (typeof content === 'string') {
    return content !== '' && blank(content);
  }
  const blocks = content as Block[];
  return (
    blocks.length > 0 &&
    blocks.every((b) => b?.type === 'text' && typeof b.text === 'string' && blank(b.text)) &&
    blocks.some((b) => b.text !== '')
  );
}

function asBlocks(content: CanonicalMessage['content']): Block[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : (content as Block[]);
}

/**
 * Repairs blocks, drops messages left empty, hoists `role:"system"` entries unless kept, and merges
 * same-role neighbours that removals made adjacent (tool_result blocks first, as A requires).
 */
function normaliseMessages(
  messages: CanonicalMessage[],
  keepSystem: boolean,
): { messages: CanonicalMessage[]; hoisted: TextBlock[] } {
  const out: CanonicalMessage[] = [];
  const hoisted: TextBlock[] = [];
  for (const [i, message] of messages.entries()) {
    if (message.role === 'system' && !keepSystem) {
      hoisted.push(...systemText(message.content));
      continue;
    }
    const content =
      typeof message.content === 'string'
        ? message.content
        : (message.content as Block[]).map(repairBlock).filter((b): b is Block => b !== undefined);
    if (content.length === 0 || (typeof content === 'string' && blank(content))) {
      if (message.role === 'user' && onlyWhitespaceText(message.content)) {
        // A rejects whitespace-only text, and dropping the turn would answer another conversation (one
        // that ends on the assistant, or has no messages at all).
        throw new GatewayError(
          400,
          `messages[${i}]: text content blocks must contain non-whitespace text (this user message is only ` +
            'whitespace, which Anthropic-kind providers reject)',
        );
      }
      continue;
    }
    const last = out[out.length - 1];
    if (last?.role === message.role && message.role !== 'system') {
      const merged = [...asBlocks(last.content), ...asBlocks(content as CanonicalMessage['content'])];
      last.content = (
        message.role === 'user'
          ? [
              ...merged.filter((b) => b.type === 'tool_result'),
              ...merged.filter((b) => b.type !== 'tool_result'),
            ]
          : merged
      ) as CanonicalMessage['content'];
      continue;
    }
    out.push({ ...message, content: content as CanonicalMessage['content'] });
  }
  return { messages: out, hoisted };
}

/**
 * A rejects thinking-enabled requests whose ongoing tool turn (last assistant message with tool_use)
 * does not open with a thinking block — which is what remains after removing minted signatures, or
 * after a non-Anthropic model answered that turn. Thinking is dropped for that request only.
 */
function thinkingBreaksLastTurn(messages: CanonicalMessage[]): boolean {
  const last = [...messages].reverse().find((m) => m.role === 'assistant');
  if (!last || typeof last.content === 'string') {
    return false;
  }
  const blocks = last.content as Block[];
  const leading = blocks[0]?.type === 'thinking' || blocks[0]?.type === 'redacted_thinking';
  return !leading && blocks.some((b) => b.type === 'tool_use');
}

function parseBetas(header: string | undefined): string[] {
  return (header ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
}

function fitThinking(body: Rec): void {
  const thinking = body.thinking as Rec | undefined;
  const maxTokens = body.max_tokens;
  if (
    thinking?.type !== 'enabled' ||
    typeof maxTokens !== 'number' ||
    typeof thinking.budget_tokens !== 'number'
  ) {
    return;
  }
  // budget_tokens must stay below max_tokens (which a cap may just have lowered).
  if (thinking.budget_tokens >= maxTokens) {
    const fitted = maxTokens - 1;
    body.thinking = fitted >= MIN_THINKING_BUDGET ? { ...thinking, budget_tokens: fitted } : undefined;
  }
}

function restrictForThirdParty(body: Rec, opts: PassthroughOptions): Rec {
  const allowed = new Set(opts.allowFields ?? DEFAULT_THIRD_PARTY_FIELDS);
  // A JSON schema the client requires would be dropped with output_config: say so rather than answer prose.
  if ((body.output_config as Rec | undefined)?.format !== undefined && !allowed.has('output_config')) {
    throw new GatewayError(
      400,
      'output_config.format (response_format json_schema): this Anthropic-compatible provider does not get ' +
        'structured outputs (only api.anthropic.com does, or a provider whose allowFields lists output_config)',
    );
  }
  // context_management is Claude Code's beta; third parties answer 400 "Extra inputs are not permitted".
  allowed.delete('context_management');
  const out: Rec = {};
  for (const [key, value] of Object.entries(body)) {
    if (allowed.has(key) && value !== undefined) {
      out[key] = value;
    }
  }
  const userId = (body.metadata as Rec | undefined)?.user_id;
  if (out.metadata !== undefined) {
    out.metadata = typeof userId === 'string' && SAFE_USER_ID.test(userId) ? { user_id: userId } : undefined;
  }
  const thinking = out.thinking as Rec | undefined;
  if (thinking?.type === 'adaptive') {
    // Third parties know only enabled/disabled; the effort hint becomes a budget.
    const effort = (body.output_config as Rec | undefined)?.effort;
    out.thinking = {
      type: 'enabled',
      budget_tokens: (typeof effort === 'string' && EFFORT_BUDGETS[effort]) || EFFORT_BUDGETS.medium,
    };
  }
  return out;
}

/**
 * A private copy of the request. Tools and system blocks pass through untouched, so interned ones
 * (toolset-intern.ts) are not copied: their deep-frozen, deep-equal copies take the place of the
 * request's, in the same key position, and their memoised JSON text is spliced into the upstream body.
 */
function cloneRequest(req: CanonicalRequest): CanonicalRequest {
  const toolset = toolsetOf(req.tools);
  const system = systemBlocksOf(req.system);
  if (toolset === undefined && system === undefined) {
    return structuredClone(req);
  }
  // Both fields are present when interned: overwriting them keeps their key position.
  const shallow: CanonicalRequest = { ...req };
  if (toolset !== undefined) {
    shallow.tools = undefined;
  }
  if (system !== undefined) {
    shallow.system = undefined;
  }
  const src = structuredClone(shallow);
  if (toolset !== undefined) {
    src.tools = toolset.tools as unknown as CanonicalRequest['tools'];
  }
  if (system !== undefined) {
    src.system = system.value as unknown as CanonicalRequest['system'];
  }
  return src;
}

/**
 * Canonical request → body (and anthropic-beta) for an Anthropic-kind upstream (PROTOCOL.md §6.11, §6.7).
 * Returns a new object; the input is never mutated (a failover retries with the same request).
 */
export function prepareAnthropicUpstream(
  req: CanonicalRequest,
  opts: PassthroughOptions,
): { body: Record<string, unknown>; betaHeader?: string } {
  const src = cloneRequest(req);
  const betas = parseBetas(opts.betas);
  const keepSystem = opts.firstParty && betas.some((b) => b.includes('mid-conversation-system'));
  const { messages, hoisted } = normaliseMessages(
    Array.isArray(src.messages) ? src.messages : [],
    keepSystem,
  );

  let body: Rec = { ...src, model: opts.model, messages };
  // The OpenAI client's own parameters (types.ts OpenAIRequestParams) are for OpenAI-style upstreams only.
  delete body.openai_params;
  if (hoisted.length > 0) {
    const system = typeof src.system === 'string' ? systemText(src.system) : (src.system ?? []);
    body.system = [...system, ...hoisted];
  }
  const thinkingType = (body.thinking as Rec | undefined)?.type;
  if ((thinkingType === 'enabled' || thinkingType === 'adaptive') && thinkingBreaksLastTurn(messages)) {
    delete body.thinking;
  }
  if (!opts.firstParty) {
    body = restrictForThirdParty(body, opts);
  }
  // Newer Claude models reject the pair ("cannot both be specified"); temperature is the one clients mean.
  if (body.temperature !== undefined && body.top_p !== undefined) {
    delete body.top_p;
  }
  if (typeof opts.maxTokensCap === 'number' && opts.maxTokensCap > 0 && typeof body.max_tokens === 'number') {
    body.max_tokens = Math.min(body.max_tokens, opts.maxTokensCap);
  }
  fitThinking(body);
  for (const key of Object.keys(body)) {
    if (body[key] === undefined) {
      delete body[key];
    }
  }

  const allowBetas = new Set(opts.allowBetas ?? []);
  const forwarded = opts.firstParty
    ? betas
    : betas.filter((b) => allowBetas.has(b) && !b.startsWith('context-management'));
  return forwarded.length > 0 ? { body, betaHeader: forwarded.join(',') } : { body };
}
