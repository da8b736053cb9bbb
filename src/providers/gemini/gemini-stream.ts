import { randomHex } from '../../common/random-id';
import { mintThinkingSignature, MINTED_SIGNATURE_PREFIX } from '../../protocol/thinking-signature';
import { newToolId, sanitizeToolId, type ToolNameMap } from '../../protocol/tool-ids';
import type { ErrorPayload, StopReason, StreamEvent, Usage } from '../../protocol/types';
import { emptyUsage } from '../../protocol/usage';

export interface GeminiStreamOptions {
  /** Model name echoed to the client. */
  model: string;
  inputTokensEstimate: number;
  messageId?: string;
  toolNames?: ToolNameMap;
}

interface GeminiUsage {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  cachedContentTokenCount?: number;
  thoughtsTokenCount?: number;
}

const REFUSAL = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'LANGUAGE',
]);
/** Finish reasons that mean the answer failed, not ended: never turned into a clean end (PROTOCOL §6.12). */
const FAILED = new Set(['MALFORMED_FUNCTION_CALL', 'UNEXPECTED_TOOL_CALL', 'TOO_MANY_TOOL_CALLS']);

const int = (v: unknown): number =>
  typeof v === 'number' && Number.isFinite(v) ? Math.max(0, Math.round(v)) : 0;

function mapFinish(reason: string, sawTool: boolean): StopReason {
  if (sawTool) {
    return 'tool_use';
  }
  if (reason === 'MAX_TOKENS') {
    return 'max_tokens';
  }
  return REFUSAL.has(reason) ? 'refusal' : 'end_turn';
}

/**
 * Gemini `GenerateContentResponse` chunks → canonical events. Each chunk carries whole parts (no per-part
 * deltas), so text/thought parts extend the open block and every functionCall is one complete tool_use
 * block with exactly one input_json_delta. A non-stream answer is fed as a single chunk.
 */
export class GeminiStreamToAnthropic {
  private index = 0;
  private open?: { kind: 'text' | 'thinking'; index: number; thinking: string; signature?: string };
  private sawTool = false;
  private finish?: string;
  private usage?: GeminiUsage;
  private done = false;
  private readonly id: string;

  constructor(private readonly opts: GeminiStreamOptions) {
    this.id = opts.messageId ?? `msg_${randomHex(12)}`;
  }

  get finished(): boolean {
    return this.done;
  }

  start(): StreamEvent[] {
    return [
      {
        type: 'message_start',
        message: {
          id: this.id,
          type: 'message',
          role: 'assistant',
          model: this.opts.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: emptyUsage(this.opts.inputTokensEstimate),
        },
      },
    ];
  }

  push(chunk: unknown): StreamEvent[] {
    if (this.done || !chunk || typeof chunk !== 'object') {
      return [];
    }
    const c = chunk as Record<string, any>;
    if (c.error) {
      const message = typeof c.error.message === 'string' ? c.error.message : JSON.stringify(c.error);
      return this.fail({ type: 'api_error', message });
    }
    if (c.usageMetadata) {
      this.usage = c.usageMetadata as GeminiUsage; // cumulative: overwrite, never add
    }
    const out: StreamEvent[] = [];
    const candidate = Array.isArray(c.candidates) ? c.candidates[0] : undefined;
    const parts: unknown[] = Array.isArray(candidate?.content?.parts) ? candidate.content.parts : [];
    for (const part of parts) {
      if (part && typeof part === 'object') {
        out.push(...this.part(part as Record<string, any>));
      }
    }
    if (typeof candidate?.finishReason === 'string') {
      this.finish ??= candidate.finishReason;
    } else if (!candidate && c.promptFeedback?.blockReason) {
      this.finish ??= 'SAFETY'; // prompt blocked: no candidates at all
    }
    return out;
  }

  /** Upstream EOF: finalise after a finishReason, otherwise the stream was cut. */
  end(): StreamEvent[] {
    if (this.done) {
      return [];
    }
    if (this.finish === undefined) {
      return this.fail({ type: 'api_error', message: 'upstream stream ended before finishReason' });
    }
    if (FAILED.has(this.finish)) {
      return this.fail({ type: 'api_error', message: `Gemini finished with ${this.finish}` });
    }
    const out = this.closeOpen();
    this.done = true;
    out.push(
      {
        type: 'message_delta',
        delta: { stop_reason: mapFinish(this.finish, this.sawTool), stop_sequence: null },
        usage: this.finalUsage(),
      },
      { type: 'message_stop' },
    );
    return out;
  }

  fail(error: ErrorPayload): StreamEvent[] {
    if (this.done) {
      return [];
    }
    this.done = true;
    return [{ type: 'error', error }];
  }

  private finalUsage(): Usage {
    const u = this.usage;
    if (!u) {
      return { ...emptyUsage(this.opts.inputTokensEstimate), output_tokens: 0 };
    }
    const cached = int(u.cachedContentTokenCount);
    return {
      input_tokens: Math.max(int(u.promptTokenCount) - cached, 0),
      // Anthropic's output_tokens include thinking; Gemini counts thoughts separately.
      output_tokens: int(u.candidatesTokenCount) + int(u.thoughtsTokenCount),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: cached,
    };
  }

  private part(p: Record<string, any>): StreamEvent[] {
    if (p.functionCall && typeof p.functionCall === 'object') {
      return this.toolCall(p.functionCall as { name?: string; args?: unknown; id?: string });
    }
    if (typeof p.text !== 'string' || p.text === '') {
      if (p.thought === true && typeof p.thoughtSignature === 'string' && this.open?.kind === 'thinking') {
        this.open.signature = p.thoughtSignature;
      }
      return [];
    }
    const kind = p.thought === true ? 'thinking' : 'text';
    const out: StreamEvent[] = [];
    if (this.open?.kind !== kind) {
      out.push(...this.closeOpen());
      const index = this.index++;
      this.open = { kind, index, thinking: '' };
      out.push({
        type: 'content_block_start',
        index,
        content_block:
          kind === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' },
      });
    }
    const open = this.open;
    if (kind === 'thinking') {
      open.thinking += p.text;
      if (typeof p.thoughtSignature === 'string') {
        open.signature = p.thoughtSignature;
      }
      out.push({
        type: 'content_block_delta',
        index: open.index,
        delta: { type: 'thinking_delta', thinking: p.text },
      });
    } else {
      out.push({
        type: 'content_block_delta',
        index: open.index,
        delta: { type: 'text_delta', text: p.text },
      });
    }
    return out;
  }

  private toolCall(fc: { name?: string; args?: unknown; id?: string }): StreamEvent[] {
    const out = this.closeOpen();
    const index = this.index++;
    const name = this.opts.toolNames
      ? this.opts.toolNames.original(String(fc.name ?? ''))
      : String(fc.name ?? '');
    this.sawTool = true;
    out.push(
      {
        type: 'content_block_start',
        index,
        content_block: { type: 'tool_use', id: fc.id ? sanitizeToolId(fc.id) : newToolId(), name, input: {} },
      },
      {
        type: 'content_block_delta',
        index,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify(fc.args ?? {}) },
      },
      { type: 'content_block_stop', index },
    );
    return out;
  }

  private closeOpen(): StreamEvent[] {
    const open = this.open;
    if (!open) {
      return [];
    }
    this.open = undefined;
    const out: StreamEvent[] = [];
    if (open.kind === 'thinking') {
      // A real Gemini signature rides inside our minted namespace (see gemini.codec.ts); else mint one.
      const signature = open.signature
        ? `${MINTED_SIGNATURE_PREFIX}g.${open.signature}`
        : mintThinkingSignature(open.thinking);
      out.push({
        type: 'content_block_delta',
        index: open.index,
        delta: { type: 'signature_delta', signature },
      });
    }
    out.push({ type: 'content_block_stop', index: open.index });
    return out;
  }
}
