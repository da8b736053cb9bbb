import type {
  BlockDelta,
  ErrorPayload,
  MessageDeltaEvent,
  MessageResponse,
  ResponseBlock,
  StreamEvent,
  Usage,
} from './types';

/** Blocks whose `input` arrives as `input_json_delta` fragments (server tools stream the same way). */
const JSON_INPUT_BLOCKS = new Set(['tool_use', 'server_tool_use', 'mcp_tool_use']);

type MutableBlock = ResponseBlock & Record<string, unknown>;

/**
 * What a canonical Message cannot hold but an OpenAI answer needs, by content block index. Kept beside the
 * Message (never in it: an Anthropic client sends its content back as history).
 */
export interface AnswerNotes {
  /**
   * Tool argument text that is not a JSON object — a call cut off by max_tokens. The Message's `input` is
   * `{}` there; an OpenAI client gets the text as received, as the stream gave it.
   */
  rawToolInputs: Map<number, string>;
  /** Text blocks that hold the model's refusal (ContentBlockStartEvent.refusal): OpenAI's `refusal`. */
  refusalBlocks: Set<number>;
}

export function emptyNotes(): AnswerNotes {
  return { rawToolInputs: new Map(), refusalBlocks: new Set() };
}

/**
 * Folds canonical events into a Message the way `@anthropic-ai/sdk` `MessageStream` does (PROTOCOL §3.4), so
 * a non-streaming client and a cache entry see exactly what a streaming SDK client would have built.
 */
export class MessageAccumulator {
  private snapshot: MessageResponse | undefined;
  /** Tool input JSON is only parseable once complete, so fragments wait here until content_block_stop. */
  private readonly jsonBuffers = new Map<number, string>();
  private stopped = false;
  private failure: ErrorPayload | undefined;
  private readonly answerNotes: AnswerNotes = emptyNotes();

  push(ev: StreamEvent): void {
    switch (ev.type) {
      case 'message_start':
        // A missing `content` is what crashes the SDK (cc-switch-cli#322); tolerate it here.
        this.snapshot = structuredClone(ev.message);
        this.snapshot.content ??= [];
        this.jsonBuffers.clear();
        this.answerNotes.rawToolInputs.clear();
        this.answerNotes.refusalBlocks.clear();
        this.stopped = false;
        return;
      case 'content_block_start':
        this.requireMessage().content.push(structuredClone(ev.content_block));
        if (ev.refusal === true) {
          this.answerNotes.refusalBlocks.add(ev.index);
        }
        return;
      case 'content_block_delta':
        this.applyDelta(ev.index, ev.delta);
        return;
      case 'content_block_stop':
        this.finishBlock(ev.index);
        return;
      case 'message_delta':
        this.applyMessageDelta(ev);
        return;
      case 'message_stop':
        this.stopped = true;
        return;
      case 'error':
        this.failure = ev.error;
        return;
      case 'ping':
        return;
    }
  }

  get started(): boolean {
    return this.snapshot !== undefined;
  }

  /** The live snapshot (not a copy): callers must not mutate it. */
  get message(): MessageResponse {
    return this.requireMessage();
  }

  get complete(): boolean {
    return this.stopped;
  }

  get error(): ErrorPayload | undefined {
    return this.failure;
  }

  /** What the Message leaves out (see AnswerNotes); live, like `message`. */
  get notes(): AnswerNotes {
    return this.answerNotes;
  }

  private requireMessage(): MessageResponse {
    if (this.snapshot === undefined) {
      // Same condition the SDK reports as "request ended without sending any chunks".
      throw new Error('stream has no message_start');
    }
    return this.snapshot;
  }

  private applyDelta(index: number, delta: BlockDelta): void {
    const block = this.requireMessage().content[index] as MutableBlock | undefined;
    if (block === undefined) {
      return;
    }
    // Deltas that do not match the block type are ignored, as the SDK does.
    switch (delta.type) {
      case 'text_delta':
        if (block.type === 'text') {
          block.text = str(block.text) + delta.text;
        }
        return;
      case 'thinking_delta':
        if (block.type === 'thinking') {
          block.thinking = str(block.thinking) + delta.thinking;
        }
        return;
      case 'signature_delta':
        if (block.type === 'thinking') {
          block.signature = delta.signature;
        }
        return;
      case 'input_json_delta':
        if (JSON_INPUT_BLOCKS.has(block.type)) {
          this.jsonBuffers.set(index, (this.jsonBuffers.get(index) ?? '') + delta.partial_json);
        }
        return;
      case 'citations_delta':
        if (block.type === 'text') {
          block.citations = Array.isArray(block.citations)
            ? [...block.citations, delta.citation]
            : [delta.citation];
        }
        return;
    }
  }

  private finishBlock(index: number): void {
    const json = this.jsonBuffers.get(index);
    this.jsonBuffers.delete(index);
    const block = this.snapshot?.content[index] as MutableBlock | undefined;
    if (json === undefined || block === undefined || json.trim() === '') {
      return;
    }
    const input = parseToolInput(json);
    block.input = input ?? {};
    if (input === undefined) {
      this.answerNotes.rawToolInputs.set(index, json);
    }
  }

  private applyMessageDelta(ev: MessageDeltaEvent): void {
    const msg = this.requireMessage();
    // A block the upstream never stopped (cut by max_tokens) is over once the message is.
    for (const index of [...this.jsonBuffers.keys()]) {
      this.finishBlock(index);
    }
    for (const [key, value] of Object.entries(ev.delta)) {
      if (key === 'stop_reason' || key === 'stop_sequence' || value !== undefined) {
        msg[key] = value;
      }
    }
    const usage: Usage = msg.usage ?? {
      input_tokens: 0,
      output_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    };
    for (const [key, value] of Object.entries(ev.usage ?? {})) {
      // output_tokens is always a cumulative total; the others only when the upstream repeats them.
      if (key === 'output_tokens' || (value !== null && value !== undefined)) {
        usage[key] = value;
      }
    }
    msg.usage = usage;
  }
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** A tool input is always an object for the client: undefined for malformed or non-object JSON. */
function parseToolInput(json: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(json);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export function accumulateEvents(events: Iterable<StreamEvent>): MessageResponse {
  const acc = new MessageAccumulator();
  for (const ev of events) {
    acc.push(ev);
  }
  return acc.message;
}

/**
 * The inverse of accumulation: replays a complete Message as the event sequence the real API would have
 * streamed (PROTOCOL §3.2), so non-stream upstream answers and cache entries can feed stream clients.
 */
export function messageToEvents(msg: MessageResponse, notes?: AnswerNotes): StreamEvent[] {
  const { content, stop_reason, stop_sequence, stop_details, usage, ...rest } = structuredClone(msg);
  const fullUsage: Usage = { ...usage };
  const events: StreamEvent[] = [
    {
      type: 'message_start',
      message: {
        ...rest,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...fullUsage, output_tokens: Math.min(fullUsage.output_tokens ?? 0, 1) },
      },
    },
  ];
  content.forEach((block, index) => events.push(...blockToEvents(block, index, notes)));
  events.push(
    {
      type: 'message_delta',
      delta: { stop_reason, stop_sequence, ...(stop_details === undefined ? {} : { stop_details }) },
      usage: fullUsage,
    },
    { type: 'message_stop' },
  );
  return events;
}

function blockToEvents(block: ResponseBlock, index: number, notes: AnswerNotes | undefined): StreamEvent[] {
  const b = block as MutableBlock;
  const events: StreamEvent[] = [];
  const delta = (d: BlockDelta): void => {
    events.push({ type: 'content_block_delta', index, delta: d });
  };
  if (b.type === 'text') {
    const text = typeof b.text === 'string' ? b.text : '';
    const start: StreamEvent = {
      type: 'content_block_start',
      index,
      content_block: { ...b, type: 'text', text: '' },
    };
    if (notes?.refusalBlocks.has(index) === true) {
      start.refusal = true;
    }
    events.push(start);
    if (text !== '') {
      delta({ type: 'text_delta', text });
    }
  } else if (b.type === 'thinking') {
    events.push({
      type: 'content_block_start',
      index,
      content_block: { ...b, type: 'thinking', thinking: '', signature: '' },
    });
    if (typeof b.thinking === 'string' && b.thinking !== '') {
      delta({ type: 'thinking_delta', thinking: b.thinking });
    }
    if (typeof b.signature === 'string' && b.signature !== '') {
      delta({ type: 'signature_delta', signature: b.signature });
    }
  } else if (JSON_INPUT_BLOCKS.has(b.type)) {
    // The real API's shape: `input: {}` in the start, arguments as a delta; accumulators that rebuild input
    // only from deltas would otherwise see `{}` (§3.4).
    events.push({ type: 'content_block_start', index, content_block: { ...b, input: {} } });
    const raw = notes?.rawToolInputs.get(index);
    delta({ type: 'input_json_delta', partial_json: raw ?? JSON.stringify(b.input ?? {}) });
  } else {
    // redacted_thinking, web_search_tool_result, …: complete in their start event, no deltas exist.
    events.push({ type: 'content_block_start', index, content_block: b });
  }
  events.push({ type: 'content_block_stop', index });
  return events;
}
