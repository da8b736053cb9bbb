import { randomAlnum } from '../common/random-id';
import { isJson, reasoningSignature, reasoningText, toErrorPayload, type Json } from './openai-chunk-fields';
import { BlockSequencer } from './openai-stream-blocks';
import { ToolCallAssembler } from './openai-stream-tools';
import type { OpenAIChatChunk } from './openai-types';
import { finishReasonToStopReason, isErrorFinishReason } from './stop-reason';
import { mintThinkingSignature } from './thinking-signature';
import type { ToolNameMap } from './tool-ids';
import type { AnthropicErrorType, ErrorPayload, StopReason, StreamEvent, Usage } from './types';
import { emptyUsage, openAIUsageToAnthropic } from './usage';

export interface OpenAIStreamOptions {
  /** The model name the client asked for; echoed in message_start. */
  model: string;
  /** Local estimate, so message_start never says 0 input tokens (Claude Code's context meter, §6.12). */
  inputTokensEstimate: number;
  messageId?: string;
  /** Maps shortened upstream tool names back to the client's names. */
  toolNames?: ToolNameMap;
  mintSignature?: (thinking: string) => string;
}

/**
 * The O-stream → A-events state machine of PROTOCOL §6.9. Feed it upstream SSE `data` payloads (or parsed
 * chunks) and forward what it returns; it emits a grammatical Anthropic stream (§3.2) whatever the provider
 * quirks (§5.4): one terminal sequence, or an `error` event instead of a fake clean end.
 */
export class OpenAIStreamToAnthropic {
  private readonly blocks: BlockSequencer;
  private readonly tools: ToolCallAssembler;
  private readonly messageId: string;
  private started = false;
  private done = false;
  private finishReason: string | undefined;
  private usage: Json | undefined;
  /**
   * Whitespace-only content that would otherwise open a text block of its own: GLM sends "\n" before its
   * reasoning, which would put a text block ahead of thinking, and a whitespace-only text block is
   * rejected when the client sends the history back. It is prepended when real text follows.
   */
  private heldWhitespace: string[] = [];

  constructor(private readonly opts: OpenAIStreamOptions) {
    this.blocks = new BlockSequencer(opts.mintSignature ?? mintThinkingSignature);
    this.tools = new ToolCallAssembler(this.blocks, opts.toolNames);
    const id = opts.messageId ?? randomAlnum(18);
    this.messageId = id.startsWith('msg_') ? id : `msg_${id}`;
  }

  /** True once the stream has its terminal event (message_stop or error); later input is ignored. */
  get finished(): boolean {
    return this.done;
  }

  /**
   * message_start, once. The adapter lets the first content event bring it (pushChunk, or the end of an empty
   * answer): until then nothing is committed, so an upstream error before any content — an error chunk
   * first, a finish_reason "error" — is the answer's first event and fails the attempt like an HTTP error
   * (failover, or the mapped status for the client) instead of a 200 stream that breaks (§6.8).
   */
  start(): StreamEvent[] {
    if (this.started || this.done) {
      return [];
    }
    this.started = true;
    return [
      {
        type: 'message_start',
        message: {
          id: this.messageId,
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

  /** One SSE `data` payload: `[DONE]`, a JSON chunk, a JSON `{error}`; anything else is a keep-alive. */
  pushData(data: string): StreamEvent[] {
    const payload = data.trim();
    if (payload === '[DONE]') {
      return this.done ? [] : [...this.start(), ...this.finalize()];
    }
    if (payload === '') {
      return [];
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      return [];
    }
    return isJson(parsed) ? this.pushChunk(parsed) : [];
  }

  pushChunk(chunk: OpenAIChatChunk | Record<string, unknown>): StreamEvent[] {
    if (this.done) {
      return [];
    }
    const c: Json = chunk;
    if (c.error !== undefined && c.error !== null) {
      return this.fail(toErrorPayload(c.error, 'api_error'));
    }
    // Usage is overwritten, never added (Groq repeats it) and never an end signal (higress#3670).
    if (isJson(c.usage)) {
      this.usage = c.usage;
    }
    const choice = Array.isArray(c.choices) ? (c.choices as unknown[])[0] : undefined;
    if (!isJson(choice)) {
      return [];
    }
    // Content first, finish after: a chunk may carry both (litellm `_CombinedChunkSplitter`).
    const out: StreamEvent[] = [];
    this.applyDelta(isJson(choice.delta) ? choice.delta : {}, out);
    const content = out.length > 0 ? [...this.start(), ...out] : out;
    const finish = choice.finish_reason;
    if (typeof finish === 'string' && finish !== '') {
      if (isErrorFinishReason(finish)) {
        const fallback: AnthropicErrorType =
          finish === 'insufficient_system_resource' ? 'overloaded_error' : 'api_error';
        const error = choice.error ?? `upstream stopped with finish_reason "${finish}"`;
        return [...content, ...this.fail(toErrorPayload(error, fallback))];
      }
      // Not an end yet: usage and more duplicates (GLM) may follow; the first value wins.
      this.finishReason ??= finish;
    }
    return content;
  }

  /** Upstream EOF. Without a finish_reason the answer is truncated: an error, never `end_turn` (§6.12). */
  end(): StreamEvent[] {
    if (this.done) {
      return [];
    }
    if (this.finishReason !== undefined) {
      return [...this.start(), ...this.finalize()];
    }
    return this.fail({
      type: 'api_error',
      message: 'upstream stream ended before the response was complete',
    });
  }

  /** Terminates with an `error` event (connection dropped, timeout…). No message_delta/stop follows. */
  fail(error: ErrorPayload): StreamEvent[] {
    if (this.done) {
      return [];
    }
    this.done = true;
    return [{ type: 'error', error }];
  }

  private applyDelta(delta: Json, out: StreamEvent[]): void {
    const signature = reasoningSignature(delta);
    if (signature !== undefined) {
      this.blocks.useSignature(signature);
    }
    const reasoning = reasoningText(delta);
    if (reasoning !== '') {
      if (this.blocks.openKind !== 'thinking') {
        this.blocks.open({ type: 'thinking', thinking: '', signature: '' }, out);
      }
      this.blocks.delta({ type: 'thinking_delta', thinking: reasoning }, out);
    }
    if (typeof delta.content === 'string' && delta.content !== '') {
      this.appendText(delta.content, out, false);
    }
    // A refusal gets a text block of its own, marked, so an OpenAI client gets it back as `refusal`.
    if (typeof delta.refusal === 'string' && delta.refusal !== '') {
      this.appendText(delta.refusal, out, true);
    }
    if (Array.isArray(delta.tool_calls)) {
      (delta.tool_calls as unknown[]).forEach((fragment, position) => {
        if (isJson(fragment)) {
          this.tools.push(fragment, position, out);
        }
      });
    }
  }

  private appendText(text: string, out: StreamEvent[], refusal: boolean): void {
    if (this.blocks.openKind === 'text' && this.blocks.openIsRefusal === refusal) {
      this.blocks.delta({ type: 'text_delta', text }, out);
      return;
    }
    if (!refusal && !/\S/.test(text)) {
      this.heldWhitespace.push(text);
      return;
    }
    this.blocks.open({ type: 'text', text: '' }, out, refusal);
    if (!refusal) {
      for (const held of this.heldWhitespace.splice(0)) {
        this.blocks.delta({ type: 'text_delta', text: held }, out);
      }
    }
    this.blocks.delta({ type: 'text_delta', text }, out);
  }

  /** The one terminal sequence (§6.9 step 6): close blocks, one message_delta, one message_stop. */
  private finalize(): StreamEvent[] {
    const out: StreamEvent[] = [];
    this.tools.flush(out);
    this.blocks.close(out);
    this.heldWhitespace = [];
    this.done = true;
    out.push(
      {
        type: 'message_delta',
        delta: { stop_reason: this.stopReason(), stop_sequence: null },
        usage: this.finalUsage(),
      },
      { type: 'message_stop' },
    );
    return out;
  }

  private stopReason(): StopReason {
    const sawTool = this.blocks.toolBlocks > 0;
    const stop = finishReasonToStopReason(this.finishReason ?? 'stop', sawTool) ?? 'end_turn';
    // "tool_calls" with no usable call would leave the client waiting for a tool_use block.
    return stop === 'tool_use' && !sawTool ? 'end_turn' : stop;
  }

  private finalUsage(): Usage {
    const estimate = Math.max(0, Math.round(this.opts.inputTokensEstimate));
    if (this.usage === undefined) {
      // Provider ignored include_usage (new-api#7351): estimate rather than omit.
      return { ...emptyUsage(estimate), output_tokens: Math.ceil(this.blocks.emittedChars / 4) };
    }
    const usage = openAIUsageToAnthropic(this.usage);
    if (usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens === 0) {
      usage.input_tokens = estimate;
    }
    return usage;
  }
}
