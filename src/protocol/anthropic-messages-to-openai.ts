import type {
  OpenAIContentPart,
  OpenAIImagePart,
  OpenAIMessage,
  OpenAITextPart,
  OpenAIToolCall,
} from './openai-types';
import { sanitizeToolId, type ToolNameMap } from './tool-ids';
import type { CanonicalMessage, ContentBlock, OtherBlock, TextBlock } from './types';

/** Tool message content when the client's history lost a result (interrupted turn, PROTOCOL.md §6.2). */
export const MISSING_TOOL_RESULT = '[no result]';

export interface MessageConversionOptions {
  reasoning: 'openai' | 'openrouter' | 'deepseek' | 'none';
  keepCacheControl: boolean;
  toolNames: ToolNameMap;
}

type Block = ContentBlock | OtherBlock;
type Rec = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const hasText = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

function textPart(block: TextBlock | Rec, keepCacheControl: boolean): OpenAITextPart {
  const part: OpenAITextPart = { type: 'text', text: str(block.text) };
  if (keepCacheControl && block.cache_control !== undefined) {
    part.cache_control = block.cache_control;
  }
  return part;
}

/**
 * System text (top-level `system` or a `role:"system"` message) → O system content. Blocks are joined
 * with blank lines; only an upstream that honours `cache_control` (OpenRouter → Claude) gets parts.
 */
export function systemContent(
  system: unknown,
  keepCacheControl: boolean,
): string | OpenAITextPart[] | undefined {
  if (typeof system === 'string') {
    return system.trim() === '' ? undefined : system;
  }
  if (!Array.isArray(system)) {
    return undefined;
  }
  const blocks = (system as Rec[]).filter((b) => b?.type === 'text' && hasText(b.text));
  if (blocks.length === 0) {
    return undefined;
  }
  if (keepCacheControl && blocks.some((b) => b.cache_control !== undefined)) {
    return blocks.map((b) => textPart(b, true));
  }
  return blocks.map((b) => str(b.text)).join('\n\n');
}

function imagePart(source: Rec | undefined): OpenAIImagePart | undefined {
  if (source?.type === 'base64' && typeof source.data === 'string') {
    return {
      type: 'image_url',
      image_url: { url: `data:${str(source.media_type) || 'image/png'};base64,${source.data}` },
    };
  }
  if (source?.type === 'url' && typeof source.url === 'string') {
    return { type: 'image_url', image_url: { url: source.url } };
  }
  // `file` sources reference Anthropic's Files API; an O upstream cannot resolve them.
  return undefined;
}

function documentText(source: Rec, title: string): string | undefined {
  const prefix = title ? `${title}\n\n` : '';
  if (source.type === 'text' && typeof source.data === 'string') {
    return prefix + source.data;
  }
  if (source.type === 'content') {
    const content = source.content;
    const text =
      typeof content === 'string' ? content : Array.isArray(content) ? joinTexts(content as Rec[], '\n') : '';
    return prefix + text;
  }
  // A note keeps the model aware that something was attached instead of silently losing it.
  if (source.type === 'url' && typeof source.url === 'string') {
    return `[document: ${title || source.url}]`;
  }
  return undefined;
}

function documentPart(block: Rec): OpenAIContentPart | undefined {
  const source = (block.source ?? {}) as Rec;
  const title = str(block.title);
  if (
    source.type === 'base64' &&
    source.media_type === 'application/pdf' &&
    typeof source.data === 'string'
  ) {
    return {
      type: 'file',
      file: { filename: title || 'document.pdf', file_data: `data:application/pdf;base64,${source.data}` },
    };
  }
  const text = documentText(source, title);
  return text === undefined || text.trim() === '' ? undefined : { type: 'text', text };
}

function joinTexts(blocks: Rec[], sep: string): string {
  return blocks
    .filter((b) => b?.type === 'text' && typeof b.text === 'string')
    .map((b) => b.text as string)
    .join(sep);
}

/** User-side content block → O part; undefined for blocks O cannot carry (or empty text). */
function userPart(block: Block, keepCacheControl: boolean): OpenAIContentPart | undefined {
  const b = block as Rec;
  switch (b.type) {
    case 'text':
      return hasText(b.text) ? textPart(b, keepCacheControl) : undefined;
    case 'image':
      return imagePart(b.source as Rec | undefined);
    case 'document':
      return documentPart(b);
    default:
      return undefined;
  }
}

/** tool_result → O tool text (O tool messages are text-only) plus the images it carried. */
function toolResultContent(block: Rec): { text: string; images: OpenAIImagePart[] } {
  const images: OpenAIImagePart[] = [];
  let text = '';
  if (typeof block.content === 'string') {
    text = block.content;
  } else if (Array.isArray(block.content)) {
    const texts: string[] = [];
    for (const item of block.content as Rec[]) {
      if (item?.type === 'text' && typeof item.text === 'string') {
        texts.push(item.text);
      } else if (item?.type === 'image') {
        const img = imagePart(item.source as Rec | undefined);
        if (img) {
          images.push(img);
        }
      } else if (item?.type === 'document') {
        const doc = documentText((item.source ?? {}) as Rec, str(item.title));
        if (doc) {
          texts.push(doc);
        }
      }
    }
    text = texts.join('\n');
  }
  return { text: block.is_error === true ? `Error: ${text}` : text, images };
}

function assistantMessage(
  content: CanonicalMessage['content'],
  opts: MessageConversionOptions,
): OpenAIMessage | undefined {
  if (typeof content === 'string') {
    return content === '' ? undefined : { role: 'assistant', content };
  }
  let text = '';
  let thinking = '';
  const toolCalls: OpenAIToolCall[] = [];
  for (const block of content as Rec[]) {
    if (block?.type === 'text' && typeof block.text === 'string') {
      text += block.text;
    } else if (block?.type === 'thinking' && typeof block.thinking === 'string') {
      thinking += block.thinking;
    } else if (block?.type === 'tool_use') {
      const id = sanitizeToolId(block.id as string);
      // Two calls with one id (e.g. `a.b` and `a_b` after sanitising) could not both be answered.
      if (toolCalls.some((c) => c.id === id)) {
        continue;
      }
      toolCalls.push({
        id,
        type: 'function',
        function: {
          name: opts.toolNames.upstream(str(block.name)),
          arguments: JSON.stringify(block.input ?? {}),
        },
      });
    }
    // redacted_thinking and replayed server-tool blocks have no O representation: dropped.
  }
  if (text === '' && toolCalls.length === 0) {
    return undefined;
  }
  const msg: OpenAIMessage = { role: 'assistant', content: text === '' ? null : text };
  if (toolCalls.length > 0) {
    msg.tool_calls = toolCalls;
  }
  // DeepSeek rejects a thinking-mode tool turn whose reasoning is not echoed back (PROTOCOL.md §6.12).
  if (thinking !== '' && opts.reasoning === 'deepseek') {
    msg.reasoning_content = thinking;
  } else if (thinking !== '' && opts.reasoning === 'openrouter') {
    msg.reasoning = thinking;
  }
  return msg;
}

/**
 * Anthropic messages → O messages (PROTOCOL.md §6.2), keeping O's pairing rule: an assistant message with
 * tool_calls is followed by exactly one tool message per call before anything else. Missing results are
 * synthesised, orphan results dropped, and `role:"system"` entries that arrive while results are still
 * due are held back until the tool messages are out.
 */
export function anthropicMessagesToOpenAI(
  messages: CanonicalMessage[],
  opts: MessageConversionOptions,
): OpenAIMessage[] {
  const out: OpenAIMessage[] = [];
  let pending: string[] = [];
  let deferred: OpenAIMessage[] = [];

  const settle = (results: Map<string, OpenAIMessage>): void => {
    for (const id of pending) {
      out.push(results.get(id) ?? { role: 'tool', tool_call_id: id, content: MISSING_TOOL_RESULT });
    }
    pending = [];
    out.push(...deferred);
    deferred = [];
  };

  for (const message of messages) {
    // Malformed content (null, an object) counts as empty rather than crashing the conversion.
    const content =
      typeof message?.content === 'string' || Array.isArray(message?.content) ? message.content : [];
    if (message?.role === 'system') {
      const system = systemContent(content, opts.keepCacheControl);
      if (system !== undefined) {
        (pending.length > 0 ? deferred : out).push({ role: 'system', content: system });
      }
      continue;
    }
    if (message?.role === 'assistant') {
      settle(new Map());
      const msg = assistantMessage(content, opts);
      if (msg) {
        out.push(msg);
        pending = (msg.tool_calls ?? []).map((c) => c.id);
      }
      continue;
    }
    if (typeof content === 'string') {
      settle(new Map());
      if (content !== '') {
        out.push({ role: 'user', content });
      }
      continue;
    }
    const results = new Map<string, OpenAIMessage>();
    const resultImages: OpenAIImagePart[] = [];
    const parts: OpenAIContentPart[] = [];
    for (const block of content) {
      const b = block as Rec;
      if (b?.type === 'tool_result') {
        const id = sanitizeToolId(b.tool_use_id as string);
        if (pending.includes(id) && !results.has(id)) {
          const { text, images } = toolResultContent(b);
          results.set(id, { role: 'tool', tool_call_id: id, content: text });
          resultImages.push(...images);
        }
        continue;
      }
      const part = userPart(block, opts.keepCacheControl);
      if (part) {
        parts.push(part);
      }
    }
    settle(results);
    parts.push(...resultImages);
    if (parts.length > 0) {
      out.push({ role: 'user', content: parts });
    } else if (results.size === 0) {
      // Only whitespace text: O accepts it as is, and dropping the turn would answer another conversation.
      const text = joinTexts(content as Rec[], '');
      if (text !== '') {
        out.push({ role: 'user', content: text });
      }
    }
  }
  settle(new Map());
  return out;
}
