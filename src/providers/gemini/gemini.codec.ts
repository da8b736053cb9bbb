import { MINTED_SIGNATURE_PREFIX } from '../../protocol/thinking-signature';
import { ToolNameMap } from '../../protocol/tool-ids';
import type {
  CanonicalMessage,
  CanonicalRequest,
  ContentBlock,
  OtherBlock,
  ToolDefinition,
} from '../../protocol/types';
import { cleanGeminiSchema, geminiParameters } from './gemini-schema';

export { GeminiStreamToAnthropic } from './gemini-stream';
export { cleanGeminiSchema } from './gemini-schema';

export type GeminiPart = Record<string, unknown>;
export interface GeminiContent {
  role: 'user' | 'model';
  parts: GeminiPart[];
}

/**
 * Gemini thought signatures ride inside our minted-signature namespace, so Anthropic-bound requests strip
 * them like any foreign signature while Gemini-bound ones can hand them back.
 */
export const GEMINI_SIGNATURE_PREFIX = `${MINTED_SIGNATURE_PREFIX}g.`;
/** Google's documented placeholder for function calls whose real thought signature is unknown (Gemini 3). */
export const SKIP_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';

type Block = ContentBlock | OtherBlock;

const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);

/** Content lists may hold anything a client sent: only objects are blocks. */
const isBlock = (v: unknown): v is Block => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * What the conversion of one request shares: Gemini's names for the client's tools (FunctionDeclaration
 * names are limited to 64 characters; longer ones — Claude Code MCP tools — are shortened as for OpenAI,
 * src/protocol/tool-ids.ts, and mapped back by GeminiStreamToAnthropic), and each tool_use id's
 * upstream name for the functionResponse that answers it.
 */
interface Names {
  tools: ToolNameMap;
  byCallId: Map<string, string>;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') {
    return content;
  }
  if (!Array.isArray(content)) {
    return '';
  }
  return content
    .map((b: unknown) => (isBlock(b) && b.type === 'text' ? str((b as { text?: unknown }).text) : ''))
    .filter(Boolean)
    .join('\n');
}

function mediaPart(block: Block): GeminiPart | undefined {
  const source = (block as { source?: Record<string, unknown> }).source;
  if (!source) {
    return undefined;
  }
  if (source.type === 'base64' && typeof source.data === 'string') {
    return {
      inlineData: { mimeType: str(source.media_type, 'application/octet-stream'), data: source.data },
    };
  }
  if (source.type === 'url' && typeof source.url === 'string') {
    return { fileData: { mimeType: str(source.media_type, guessMime(source.url)), fileUri: source.url } };
  }
  if (source.type === 'text' && typeof source.data === 'string') {
    return { text: source.data };
  }
  return undefined;
}

function guessMime(url: string): string {
  const ext = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(url)?.[1]?.toLowerCase();
  const known: Record<string, string> = {
    png: 'image/png',
    gif: 'image/gif',
    webp: 'image/webp',
    pdf: 'application/pdf',
  };
  return (ext && known[ext]) || 'image/jpeg';
}

function toolResultPart(block: Block, names: Names): GeminiPart[] {
  const b = block as { tool_use_id?: string; content?: unknown; is_error?: boolean };
  const name = names.byCallId.get(String(b.tool_use_id)) ?? 'unknown_tool';
  const text = textOf(b.content);
  const parts: GeminiPart[] = [
    { functionResponse: { name, response: b.is_error ? { error: text } : { content: text } } },
  ];
  // Images in tool results: Gemini's functionResponse is JSON-only, so they follow as inline parts.
  if (Array.isArray(b.content)) {
    for (const item of (b.content as unknown[]).filter(isBlock)) {
      if (item.type === 'image' || item.type === 'document') {
        const media = mediaPart(item);
        if (media) {
          parts.push(media);
        }
      }
    }
  }
  return parts;
}

function messageParts(msg: CanonicalMessage, names: Names): GeminiPart[] {
  if (typeof msg.content === 'string') {
    return msg.content ? [{ text: msg.content }] : [];
  }
  const parts: GeminiPart[] = [];
  let pendingSignature: string | undefined;
  let signedCall = false;
  for (const block of (msg.content as unknown[]).filter(isBlock)) {
    switch (block.type) {
      case 'text': {
        const text = str((block as { text?: unknown }).text);
        if (text) {
          parts.push(pendingSignature ? { text, thoughtSignature: pendingSignature } : { text });
          pendingSignature = undefined;
        }
        break;
      }
      case 'image':
      case 'document': {
        const media = mediaPart(block);
        if (media) {
          parts.push(media);
        }
        break;
      }
      case 'tool_use': {
        const b = block as { id: string; name: string; input?: unknown };
        const name = names.tools.upstream(str(b.name));
        names.byCallId.set(b.id, name);
        const part: GeminiPart = { functionCall: { name, args: b.input ?? {} } };
        if (!signedCall) {
          // Gemini 3 requires a signature on the first call of a model turn; older models ignore it.
          part.thoughtSignature = pendingSignature ?? SKIP_THOUGHT_SIGNATURE;
          signedCall = true;
          pendingSignature = undefined;
        }
        parts.push(part);
        break;
      }
      case 'tool_result':
        parts.push(...toolResultPart(block, names));
        break;
      case 'thinking': {
        const sig = (block as { signature?: unknown }).signature;
        if (typeof sig === 'string' && sig.startsWith(GEMINI_SIGNATURE_PREFIX)) {
          pendingSignature = sig.slice(GEMINI_SIGNATURE_PREFIX.length);
        }
        break; // thought text is not replayed: Gemini keeps its reasoning in the signature
      }
      default:
        break; // redacted_thinking, server tool blocks: meaningless to Gemini
    }
  }
  return parts;
}

function systemText(req: CanonicalRequest): string {
  const base =
    typeof req.system === 'string' ? req.system : (req.system ?? []).map((b) => b.text).join('\n\n');
  // Claude Code's mid-conversation system entries are hoisted: Gemini has one systemInstruction.
  const extra = req.messages.filter((m) => m.role === 'system').map((m) => textOf(m.content));
  return [base, ...extra].filter((s) => s && s.trim()).join('\n\n');
}

function contents(req: CanonicalRequest, tools: ToolNameMap): GeminiContent[] {
  const names: Names = { tools, byCallId: new Map() };
  const out: GeminiContent[] = [];
  for (const msg of req.messages) {
    if (msg.role === 'system') {
      continue;
    }
    const role = msg.role === 'assistant' ? 'model' : 'user';
    const parts = messageParts(msg, names);
    if (parts.length === 0) {
      continue;
    }
    const prev = out[out.length - 1];
    // Gemini wants alternating turns; consecutive same-role messages are merged.
    if (prev && prev.role === role) {
      prev.parts.push(...parts);
    } else {
      out.push({ role, parts });
    }
  }
  return out;
}

function tools(
  defs: ToolDefinition[] | undefined,
  names: ToolNameMap,
): Array<Record<string, unknown>> | undefined {
  if (!defs?.length) {
    return undefined;
  }
  const declarations: Array<Record<string, unknown>> = [];
  const out: Array<Record<string, unknown>> = [];
  for (const t of defs) {
    if (t.type && t.type !== 'custom') {
      if (t.type.startsWith('web_search')) {
        out.push({ googleSearch: {} });
      }
      continue; // other server tools have no Gemini equivalent
    }
    const parameters = geminiParameters(t.input_schema);
    declarations.push({
      name: names.upstream(t.name),
      description: t.description ?? '',
      ...(parameters ? { parameters } : {}),
    });
  }
  if (declarations.length) {
    out.unshift({ functionDeclarations: declarations });
  }
  return out.length ? out : undefined;
}

function toolConfig(req: CanonicalRequest, names: ToolNameMap): Record<string, unknown> | undefined {
  const choice = req.tool_choice;
  if (!choice || !req.tools?.length) {
    return undefined;
  }
  switch (choice.type) {
    case 'auto':
      return { functionCallingConfig: { mode: 'AUTO' } };
    case 'any':
      return { functionCallingConfig: { mode: 'ANY' } };
    case 'none':
      return { functionCallingConfig: { mode: 'NONE' } };
    case 'tool':
      return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [names.upstream(choice.name)] } };
  }
}

function generationConfig(req: CanonicalRequest, maxTokensCap?: number): Record<string, unknown> {
  const cfg: Record<string, unknown> = {};
  const max = maxTokensCap ? Math.min(req.max_tokens, maxTokensCap) : req.max_tokens;
  if (typeof max === 'number' && max > 0) {
    cfg.maxOutputTokens = max;
  }
  // Gemini takes 0–2 like OpenAI: an OpenAI client's temperature as sent, not the canonical (A's 0–1).
  const temperature = req.openai_params?.temperature ?? req.temperature;
  if (typeof temperature === 'number') {
    cfg.temperature = temperature;
  }
  if (typeof req.top_p === 'number') {
    cfg.topP = req.top_p;
  }
  if (typeof req.top_k === 'number') {
    cfg.topK = req.top_k;
  }
  if (req.stop_sequences?.length) {
    cfg.stopSequences = req.stop_sequences.slice(0, 5);
  }
  if (req.thinking?.type === 'enabled') {
    cfg.thinkingConfig = { thinkingBudget: req.thinking.budget_tokens, includeThoughts: true };
  } else if (req.thinking?.type === 'adaptive') {
    cfg.thinkingConfig = { thinkingBudget: -1, includeThoughts: true }; // -1 = dynamic budget
  }
  const format = req.output_config?.format;
  if (format?.type === 'json_schema') {
    cfg.responseMimeType = 'application/json';
    cfg.responseSchema = cleanGeminiSchema(format.schema);
  } else if (req.openai_params?.response_format) {
    // OpenAI JSON mode (json_object, or a json_schema without a schema): JSON, whatever its shape.
    cfg.responseMimeType = 'application/json';
  }
  return cfg;
}

/**
 * Anthropic request → Gemini `generateContent` body. Pure. `toolNames` (learns every tool name it sends)
 * is to be shared with the answer's GeminiStreamToAnthropic, so shortened names map back.
 */
export function anthropicToGeminiRequest(
  req: CanonicalRequest,
  opts: { maxTokensCap?: number; toolNames?: ToolNameMap } = {},
): Record<string, unknown> {
  const names = opts.toolNames ?? new ToolNameMap();
  const t = tools(req.tools, names);
  const body: Record<string, unknown> = { contents: contents(req, names) };
  const system = systemText(req);
  if (system) {
    body.systemInstruction = { parts: [{ text: system }] };
  }
  if (t) {
    body.tools = t;
  }
  const tc = toolConfig(req, names);
  if (tc) {
    body.toolConfig = tc;
  }
  body.generationConfig = generationConfig(req, opts.maxTokensCap);
  return body;
}
