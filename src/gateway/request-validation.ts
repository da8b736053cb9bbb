import { z } from 'zod';
import { GatewayError } from '../protocol/errors';
import type { CanonicalRequest } from '../protocol/types';
import { fail, invalid, requireObject } from './validation-errors';

/**
 * Structural checks of an Anthropic Messages body: enough to answer malformed input with a clear 400 in
 * the client's format instead of a confusing upstream error. Unknown fields and block types pass through.
 */
const block = z.looseObject({ type: z.string().min(1) });
const content = z.union([z.string(), z.array(block)]);
const message = z.looseObject({ role: z.enum(['user', 'assistant', 'system']), content });

const UNIT = 'must be a number between 0 and 1';

const base = {
  model: z.string().min(1),
  messages: z.array(message).min(1, 'at least one message is required'),
  system: z.union([z.string(), z.array(block)]).optional(),
  tools: z.array(z.looseObject({ name: z.string().min(1), type: z.string().optional() })).optional(),
  tool_choice: z
    .looseObject({ type: z.string(), name: z.unknown().optional() })
    .refine((c) => c.type !== 'tool' || (typeof c.name === 'string' && c.name !== ''), {
      message: 'a non-empty string "name" is required when type is "tool"',
      path: ['name'],
    })
    .optional(),
  thinking: z.looseObject({ type: z.string() }).optional(),
  // Anthropic's ranges (PROTOCOL.md §1.2): the API answers 400 outside them.
  temperature: z.number().min(0, { error: UNIT }).max(1, { error: UNIT }).optional(),
  top_p: z.number().min(0, { error: UNIT }).max(1, { error: UNIT }).optional(),
  top_k: z.number().int().min(0).optional(),
  stop_sequences: z.array(z.string()).optional(),
  stream: z.boolean().optional(),
  metadata: z.looseObject({}).optional(),
};

const messagesSchema = z.looseObject({ ...base, max_tokens: z.number().int().positive() });
const countTokensSchema = z.looseObject({ ...base });

/** What a tool_result's content list may hold (Anthropic's API rejects anything else). */
const TOOL_RESULT_ITEM_TYPES = new Set(['text', 'image', 'document', 'search_result', 'tool_reference']);

function checkToolResult(block: Record<string, unknown>, at: string): void {
  const content = block.content;
  if (content === undefined || typeof content === 'string') {
    return;
  }
  if (!Array.isArray(content)) {
    throw invalid(`${at}.content`, 'must be a string or an array of content blocks');
  }
  content.forEach((item: unknown, k) => {
    const where = `${at}.content[${k}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw invalid(where, 'must be a content block object');
    }
    const type = (item as { type?: unknown }).type;
    if (typeof type !== 'string' || !TOOL_RESULT_ITEM_TYPES.has(type)) {
      throw invalid(
        `${where}.type`,
        `must be one of ${[...TOOL_RESULT_ITEM_TYPES].map((t) => `"${t}"`).join(', ')}`,
      );
    }
    if (type === 'text' && typeof (item as { text?: unknown }).text !== 'string') {
      throw invalid(`${where}.text`, 'must be a string');
    }
  });
}

/** Block shapes the conversions rely on, beyond "an object with a type". */
function checkBlocks(messages: CanonicalRequest['messages']): void {
  messages.forEach((m, i) => {
    if (!Array.isArray(m.content)) {
      return;
    }
    m.content.forEach((block, j) => {
      if (block.type === 'tool_result') {
        checkToolResult(block as unknown as Record<string, unknown>, `messages[${i}].content[${j}]`);
      }
    });
  });
}

/** The API's own rule: only a final assistant message (a prefill) may be empty. */
function requireContent(messages: CanonicalRequest['messages']): void {
  messages.forEach((m, i) => {
    const empty = m.content.length === 0;
    if (empty && !(i === messages.length - 1 && m.role === 'assistant')) {
      throw new GatewayError(
        400,
        `messages[${i}]: all messages must have non-empty content except for the optional final assistant message`,
        { type: 'invalid_request_error' },
      );
    }
  });
}

export function parseMessagesRequest(body: unknown): CanonicalRequest {
  const parsed = messagesSchema.safeParse(requireObject(body));
  if (!parsed.success) {
    fail(parsed.error);
  }
  const request = parsed.data as unknown as CanonicalRequest;
  requireContent(request.messages);
  checkBlocks(request.messages);
  return request;
}

/** count_tokens bodies carry no max_tokens; a placeholder keeps them canonical. */
export function parseCountTokensRequest(body: unknown): CanonicalRequest {
  const parsed = countTokensSchema.safeParse(requireObject(body));
  if (!parsed.success) {
    fail(parsed.error);
  }
  const request = { max_tokens: 1, ...(parsed.data as object) } as CanonicalRequest;
  checkBlocks(request.messages);
  return request;
}
