import { randomAlnum } from '../common/random-id';
import { finishReasonFor, refusalMessage } from './stop-reason';
import type { StreamEvent, Usage } from './types';
import { anthropicUsageToOpenAI } from './usage';

export interface OpenAIChunkOptions {
  /** The model name the client asked for. */
  model: string;
  id?: string;
  created?: number;
  /** The client sent `stream_options.include_usage: true`. */
  includeUsage: boolean;
  /** Where reasoning goes; there is no standard field, so `null` drops it. Default `reasoning_content`. */
  reasoningField?: 'reasoning_content' | 'reasoning' | null;
}

export type OpenAIStreamItem = Record<string, unknown> | '[DONE]';

/** A tool call being streamed: its ordinal among tool calls and what its arguments have been so far. */
interface ToolCallState {
  index: number;
  /** Some non-blank argument text was sent (the concatenation the client builds is not empty). */
  sentArgs: boolean;
  /** An `input` the upstream put in content_block_start itself (no deltas follow then). */
  startInput: string | undefined;
  closed: boolean;
}

/**
 * Canonical events → OpenAI `chat.completion.chunk`s for OpenAI-ingress clients (PROTOCOL §6.10). Each call
 * returns the payloads to write as `data:` lines, in order; `'[DONE]'` ends the stream.
 */
export class AnthropicToOpenAIChunks {
  private readonly id: string;
  private readonly created: number;
  private readonly reasoningField: 'reasoning_content' | 'reasoning' | null;
  /** A block index → its tool call: O clients index tool calls 0,1,… among tools only. */
  private readonly toolCalls = new Map<number, ToolCallState>();
  /** Text blocks holding the model's refusal: their text goes out as `delta.refusal`. */
  private readonly refusalBlocks = new Set<number>();
  private sentRefusal = false;
  private usage: Partial<Usage> = {};
  private sentRole = false;
  private sentFinish = false;
  private ended = false;

  constructor(private readonly opts: OpenAIChunkOptions) {
    this.id = opts.id ?? `chatcmpl-${randomAlnum(18)}`;
    this.created = opts.created ?? Math.floor(Date.now() / 1000);
    this.reasoningField = opts.reasoningField === undefined ? 'reasoning_content' : opts.reasoningField;
  }

  push(ev: StreamEvent): OpenAIStreamItem[] {
    if (this.ended) {
      return [];
    }
    switch (ev.type) {
      case 'message_start':
        this.mergeUsage(ev.message.usage);
        if (this.sentRole) {
          return [];
        }
        this.sentRole = true;
        return [this.chunk({ role: 'assistant', content: '' })];
      case 'content_block_start': {
        const block = ev.content_block;
        if (block.type === 'tool_use') {
          const index = this.toolCalls.size;
          this.toolCalls.set(ev.index, {
            index,
            sentArgs: false,
            startInput: startInputOf(block.input),
            closed: false,
          });
          const call = {
            index,
            id: block.id,
            type: 'function',
            function: { name: block.name, arguments: '' },
          };
          return [this.chunk({ tool_calls: [call] })];
        }
        if (block.type === 'text' && ev.refusal === true) {
          this.refusalBlocks.add(ev.index);
        }
        if (block.type === 'text' && typeof block.text === 'string' && block.text !== '') {
          return [this.text(ev.index, block.text)];
        }
        return [];
      }
      case 'content_block_delta':
        return this.delta(ev.index, ev.delta);
      case 'content_block_stop': {
        const call = this.toolCalls.get(ev.index);
        return call ? this.closeToolCall(call) : [];
      }
      case 'message_delta': {
        this.mergeUsage(ev.usage);
        // The grammar allows several message_delta events; an O client expects one finish chunk.
        if (this.sentFinish) {
          return [];
        }
        this.sentFinish = true;
        const out: OpenAIStreamItem[] = [];
        for (const call of this.toolCalls.values()) {
          out.push(...this.closeToolCall(call));
        }
        // An Anthropic-style refusal (a stop reason, no refusal text): OpenAI clients look for `refusal`.
        if (ev.delta.stop_reason === 'refusal' && !this.sentRefusal) {
          this.sentRefusal = true;
          out.push(this.chunk({ refusal: refusalMessage(ev.delta.stop_details) }));
        }
        out.push(this.chunk({}, finishReasonFor(ev.delta.stop_reason, this.toolCalls.size > 0)));
        if (this.opts.includeUsage) {
          out.push({ ...this.base(), choices: [], usage: anthropicUsageToOpenAI(this.usage) });
        }
        return out;
      }
      case 'message_stop':
        this.ended = true;
        return ['[DONE]'];
      case 'error':
        // The caller closes the connection after this; a [DONE] would read as a clean end.
        this.ended = true;
        return [{ error: { message: ev.error.message, type: ev.error.type, param: null, code: null } }];
      case 'ping':
        return [];
    }
  }

  /**
   * A tool call's arguments must parse as JSON for the client (`runTools` JSON.parses them): a tool without
   * parameters streams no argument text at all (or one empty `input_json_delta`), and an upstream that put
   * the input in content_block_start streams none either; the non-stream answer says "{}" or that input.
   */
  private closeToolCall(call: ToolCallState): OpenAIStreamItem[] {
    if (call.closed) {
      return [];
    }
    call.closed = true;
    if (call.sentArgs) {
      return [];
    }
    const args = call.startInput ?? '{}';
    return [this.chunk({ tool_calls: [{ index: call.index, function: { arguments: args } }] })];
  }

  private delta(
    blockIndex: number,
    delta: Extract<StreamEvent, { type: 'content_block_delta' }>['delta'],
  ): OpenAIStreamItem[] {
    switch (delta.type) {
      case 'text_delta':
        return delta.text === '' ? [] : [this.text(blockIndex, delta.text)];
      case 'thinking_delta':
        return this.reasoningField === null || delta.thinking === ''
          ? []
          : [this.chunk({ [this.reasoningField]: delta.thinking })];
      case 'input_json_delta': {
        const call = this.toolCalls.get(blockIndex);
        if (call === undefined || call.closed || delta.partial_json === '') {
          return [];
        }
        call.sentArgs ||= /\S/.test(delta.partial_json);
        return [
          this.chunk({ tool_calls: [{ index: call.index, function: { arguments: delta.partial_json } }] }),
        ];
      }
      case 'signature_delta':
      case 'citations_delta':
        return [];
    }
  }

  private text(blockIndex: number, text: string): Record<string, unknown> {
    if (this.refusalBlocks.has(blockIndex)) {
      this.sentRefusal = true;
      return this.chunk({ refusal: text });
    }
    return this.chunk({ content: text });
  }

  private mergeUsage(usage: Partial<Usage> | undefined): void {
    for (const [key, value] of Object.entries(usage ?? {})) {
      if (value !== null && value !== undefined) {
        this.usage[key] = value;
      }
    }
  }

  private base(): Record<string, unknown> {
    return { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.opts.model };
  }

  private chunk(delta: Record<string, unknown>, finishReason: string | null = null): Record<string, unknown> {
    return {
      ...this.base(),
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      // With include_usage, api.openai.com sends `usage: null` on every chunk but the usage one (§5.4).
      ...(this.opts.includeUsage ? { usage: null } : {}),
    };
  }
}

/** The JSON of a non-empty `input` object in a tool block's start event; undefined for `{}` or none. */
function startInputOf(input: unknown): string | undefined {
  if (
    input === null ||
    typeof input !== 'object' ||
    Array.isArray(input) ||
    Object.keys(input).length === 0
  ) {
    return undefined;
  }
  return JSON.stringify(input);
}
