import { GatewayError } from './errors';
import type { OpenAIMessage } from './openai-types';
import { sanitizeToolId } from './tool-ids';
import type { CanonicalMessage, ContentBlock, TextBlock, ToolResultBlock, ToolUseBlock } from './types';

/** First user turn inserted when an O conversation opens with the assistant (A requires user first). */
export const PLACEHOLDER_USER_TEXT = '(continued)';

type Rec = Record<string, unknown>;
type Turn = { role: 'user' | 'assistant'; content: ContentBlock[] };

const DATA_URL = /^data:([^;,]+)?((?:;[^;,]+)*);base64,(.*)$/s;

function bad(message: string): GatewayError {
  return new GatewayError(400, message);
}

/** Text of a string or of the text (and refusal) parts of an O content array. */
function plainText(content: unknown, where: string): string {
  if (content === null || content === undefined) {
    return '';
  }
  if (typeof content === 'string') {
    return content;
  }
  if (!Array.isArray(content)) {
    throw bad(`${where}.content: must be a string or an array of content parts`);
  }
  return (content as Rec[])
    .map((p) => (p?.type === 'text' ? p.text : p?.type === 'refusal' ? p.refusal : undefined))
    .filter((t): t is string => typeof t === 'string')
    .join('\n');
}

function imageBlock(part: Rec, where: string): ContentBlock {
  const url = (part.image_url as Rec | undefined)?.url;
  if (typeof url !== 'string') {
    throw bad(`${where}.image_url.url: must be a string`);
  }
  const data = DATA_URL.exec(url);
  if (data) {
    return { type: 'image', source: { type: 'base64', media_type: data[1] ?? 'image/png', data: data[3] } };
  }
  if (/^https?:\/\//i.test(url)) {
    return { type: 'image', source: { type: 'url', url } };
  }
  throw bad(`${where}.image_url.url: only data: and http(s) URLs are supported`);
}

function fileBlock(part: Rec, where: string): ContentBlock {
  const file = (part.file ?? {}) as Rec;
  const data = typeof file.file_data === 'string' ? DATA_URL.exec(file.file_data) : null;
  if (!data) {
    throw bad(`${where}.file: only inline file_data (a base64 data: URL) is supported, not file_id`);
  }
  const title = typeof file.filename === 'string' ? { title: file.filename } : {};
  const mime = data[1] ?? '';
  if (mime === 'application/pdf') {
    return { type: 'document', source: { type: 'base64', media_type: mime, data: data[3] }, ...title };
  }
  if (mime.startsWith('text/')) {
    const text = Buffer.from(data[3], 'base64').toString('utf8');
    return { type: 'document', source: { type: 'text', media_type: 'text/plain', data: text }, ...title };
  }
  throw bad(`${where}.file: unsupported file type "${mime}" (PDF and text files only)`);
}

function userBlocks(content: unknown, where: string): ContentBlock[] {
  if (typeof content === 'string') {
    return content === '' ? [] : [{ type: 'text', text: content }];
  }
  if (!Array.isArray(content)) {
    throw bad(`${where}.content: must be a string or an array of content parts`);
  }
  const blocks: ContentBlock[] = [];
  (content as Rec[]).forEach((part, i) => {
    const at = `${where}.content[${i}]`;
    switch (part?.type) {
      case 'text':
        if (typeof part.text === 'string' && part.text !== '') {
          blocks.push({ type: 'text', text: part.text });
        }
        break;
      case 'image_url':
        blocks.push(imageBlock(part, at));
        break;
      case 'file':
        blocks.push(fileBlock(part, at));
        break;
      case 'input_audio':
        throw bad(`${at}: audio input is not supported`);
      default:
        throw bad(`${at}.type: unsupported content part type "${String(part?.type)}"`);
    }
  });
  return blocks;
}

function toolInput(args: unknown): Record<string, unknown> {
  if (typeof args !== 'string' || args.trim() === '') {
    return {};
  }
  try {
    const parsed: unknown = JSON.parse(args);
    // A requires an object; a model that produced broken JSON gets {} rather than a string input.
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

function assistantBlocks(msg: OpenAIMessage, where: string): ContentBlock[] {
  const blocks: ContentBlock[] = [];
  const text = plainText(msg.content, where);
  if (text.trim() !== '') {
    blocks.push({ type: 'text', text });
  }
  // reasoning_content is dropped: A would reject a thinking block without an Anthropic signature.
  (msg.tool_calls ?? []).forEach((call, i) => {
    if (typeof call?.function?.name !== 'string') {
      throw bad(`${where}.tool_calls[${i}].function.name: must be a string`);
    }
    const block: ToolUseBlock = {
      type: 'tool_use',
      id: sanitizeToolId(call.id),
      name: call.function.name,
      input: toolInput(call.function.arguments),
    };
    blocks.push(block);
  });
  return blocks;
}

function toolResult(msg: OpenAIMessage, where: string): ToolResultBlock {
  if (typeof msg.tool_call_id !== 'string' || msg.tool_call_id === '') {
    throw bad(`${where}.tool_call_id: required for role "tool"`);
  }
  return {
    type: 'tool_result',
    tool_use_id: sanitizeToolId(msg.tool_call_id),
    content: plainText(msg.content, where),
  };
}

/** Adds a turn, merging it into the previous one of the same role (A requires alternation). */
function pushTurn(turns: Turn[], turn: Turn): void {
  if (turn.content.length === 0) {
    return;
  }
  const last = turns[turns.length - 1];
  if (last?.role !== turn.role) {
    turns.push(turn);
    return;
  }
  const merged = [...last.content, ...turn.content];
  // tool_result blocks must open a user message; a stable partition keeps everything else in order.
  last.content =
    turn.role === 'user'
      ? [...merged.filter((b) => b.type === 'tool_result'), ...merged.filter((b) => b.type !== 'tool_result')]
      : merged;
}

/**
 * O messages → A system blocks + alternating messages (PROTOCOL.md §6.3). system/developer messages are
 * hoisted to the top-level system in order, wherever they occur (open question §8.10: hoisting keeps
 * their authority; inlining them as user text would not). Consecutive tool messages become one user
 * message of tool_result blocks, which any immediately following user content joins.
 */
export function openAIMessagesToAnthropic(messages: OpenAIMessage[]): {
  system: TextBlock[];
  messages: CanonicalMessage[];
} {
  const system: TextBlock[] = [];
  const turns: Turn[] = [];
  messages.forEach((msg, i) => {
    const where = `messages[${i}]`;
    if (typeof msg !== 'object' || msg === null) {
      throw bad(`${where}: must be an object`);
    }
    switch (msg.role) {
      case 'system':
      case 'developer': {
        const text = plainText(msg.content, where);
        if (text.trim() !== '') {
          system.push({ type: 'text', text });
        }
        break;
      }
      case 'user':
        pushTurn(turns, { role: 'user', content: userBlocks(msg.content, where) });
        break;
      case 'assistant':
        pushTurn(turns, { role: 'assistant', content: assistantBlocks(msg, where) });
        break;
      case 'tool':
        pushTurn(turns, { role: 'user', content: [toolResult(msg, where)] });
        break;
      case 'function':
        throw bad(`${where}.role: legacy "function" messages are not supported; use tools and role "tool"`);
      default:
        throw bad(`${where}.role: unsupported role "${String((msg as Rec).role)}"`);
    }
  });
  if (turns.length === 0) {
    throw bad('messages: must contain at least one user or assistant message with content');
  }
  if (turns[0].role === 'assistant') {
    turns.unshift({ role: 'user', content: [{ type: 'text', text: PLACEHOLDER_USER_TEXT }] });
  }
  return { system, messages: turns };
}
