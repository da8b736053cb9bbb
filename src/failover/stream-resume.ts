import { countTextTokens } from '../protocol/tokens';
import type { AnthropicErrorType, ErrorPayload, StreamEvent, Usage } from '../protocol/types';

/*
 * Stream resume (docs/failover.md#stream-resume): a streamed answer of plain text that breaks after the commit
 * point continues on another target, which is sent the original request plus the partial text as an assistant
 * prefill; its answer is spliced into the client's stream so the client sees one well-formed message. This
 * file holds the pure parts: what the client has seen, whether a break may be resumed and the splice; the
 * continuation request is built in continuation-request.ts, and `ResumingStream` (resuming-stream.ts) runs them.
 */

/** `Failover.resume`. */
export interface ResumeSettings {
  enabled: boolean;
  maxResumes: number;
}

/**
 * Set on the `message_stop` of a spliced answer (the number of resumes). It travels with the event through
 * queue relays and dedup logs, and keeps the answer out of the response cache: it mixes two upstream answers.
 */
export const RESUMED_FIELD = 'switchyard_resumed';

export function isResumedAnswer(ev: StreamEvent): boolean {
  return ev.type === 'message_stop' && RESUMED_FIELD in ev;
}

/**
 * Failures of the upstream, not of the request: a cut connection or a dead provider process (the adapters
 * report `api_error`), an in-band `overloaded_error`/`api_error`, an idle stall (`timeout_error`). A total
 * deadline also says `timeout_error`; it is refused for want of budget, not by type.
 */
const RESUMABLE_ERRORS: ReadonlySet<AnthropicErrorType> = new Set<AnthropicErrorType>([
  'api_error',
  'overloaded_error',
  'timeout_error',
]);

/** Less than this left of the answer's total deadline: not worth a new upstream call. */
export const MIN_RESUME_BUDGET_MS = 1000;

const INPUT_USAGE_KEYS = ['input_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const;

/** What the client has received so far, in its own block indices (every event it was sent goes through `observe`). */
export class ClientView {
  /** Input-side usage of the message_start the client got (a continuation's own is larger: it includes the prefill). */
  inputUsage: Partial<Usage> = {};
  /** The next block index the client expects. */
  nextIndex = 0;
  /** The block still open on the client's side, if any. */
  openIndex?: number;
  /** The first content a text prefill cannot carry (a block or delta type); undefined while all is plain text. */
  notText?: string;
  /** Every text delta so far, all segments. */
  text = '';
  /** A message_delta went out: the answer was over but for its message_stop. */
  messageDelta = false;
  /** Output tokens of the segments that broke and were resumed (estimated from their text). */
  private priorTokens = 0;
  /** Text of the current segment (the upstream answer now streaming). */
  private segmentText = '';
  /** The upstream's own count in its message_start (a floor for the first segment's estimate). */
  private startTokens = 0;

  observe(ev: StreamEvent): void {
    switch (ev.type) {
      case 'message_start': {
        const usage = ev.message.usage ?? {};
        this.inputUsage = {};
        for (const key of INPUT_USAGE_KEYS) {
          if (typeof usage[key] === 'number') {
            this.inputUsage[key] = usage[key];
          }
        }
        this.startTokens = typeof usage.output_tokens === 'number' ? usage.output_tokens : 0;
        break;
      }
      case 'content_block_start': {
        this.nextIndex = Math.max(this.nextIndex, ev.index + 1);
        this.openIndex = ev.index;
        const block = ev.content_block as { type: string; text?: unknown; citations?: unknown };
        if (block.type !== 'text' || (Array.isArray(block.citations) && block.citations.length > 0)) {
          this.notText ??= block.type === 'text' ? 'citations' : block.type;
        } else if (typeof block.text === 'string') {
          this.addText(block.text);
        }
        break;
      }
      case 'content_block_delta':
        if (ev.delta.type === 'text_delta') {
          this.addText(ev.delta.text);
        } else {
          this.notText ??= ev.delta.type;
        }
        break;
      case 'content_block_stop':
        if (this.openIndex === ev.index) {
          this.openIndex = undefined;
        }
        break;
      case 'message_delta':
        this.messageDelta = true;
        break;
      case 'message_stop':
      case 'ping':
      case 'error':
        break;
    }
  }

  /** Output tokens the client has been sent: the upstream never reports them before its end, so estimated. */
  outputTokens(): number {
    const segment = countTextTokens(this.segmentText);
    return this.priorTokens + (this.priorTokens === 0 ? Math.max(segment, this.startTokens) : segment);
  }

  /** The current segment broke and a continuation takes over; returns the tokens counted so far. */
  nextSegment(): number {
    this.priorTokens = this.outputTokens();
    this.segmentText = '';
    return this.priorTokens;
  }

  private addText(text: string): void {
    this.text += text;
    this.segmentText += text;
  }
}

/** Why a break was not resumed; `counted` ones are `switchyard_stream_resumes_total{outcome="refused"}`. */
export type ResumeRefusal =
  | 'disabled'
  | 'client_gone'
  | 'error_type'
  | 'not_text'
  | 'answer_ended'
  | 'max_resumes'
  | 'deadline'
  | 'no_target';

export type ResumeDecision =
  | { resume: true }
  | {
      resume: false;
      reason: ResumeRefusal;
      /** counts as a refusal (a break that stays a terminal error) */ counted: boolean;
    };

export interface ResumeCheck {
  settings: ResumeSettings;
  /** `Failover.enabled` and the request's `failover` feature. */
  failover: boolean;
  view: ClientView;
  /** The terminal error the broken upstream stream ended with. */
  error: ErrorPayload;
  clientGone: boolean;
  /** Resumes this answer already had. */
  resumes: number;
  /** Until the answer's total deadline. */
  remainingMs: number;
  /** Targets of the chain that have not broken yet. */
  targetsLeft: number;
}

/** Whether a streamed answer that broke after its commit point may continue on another target. */
export function decideResume(c: ResumeCheck): ResumeDecision {
  const refuse = (reason: ResumeRefusal, counted = true): ResumeDecision => ({
    resume: false,
    reason,
    counted,
  });
  if (!c.settings.enabled || c.settings.maxResumes <= 0 || !c.failover) {
    return refuse('disabled', false);
  }
  if (c.clientGone) {
    return refuse('client_gone', false);
  }
  if (!RESUMABLE_ERRORS.has(c.error.type)) {
    return refuse('error_type');
  }
  if (c.view.notText !== undefined) {
    return refuse('not_text');
  }
  if (c.view.messageDelta) {
    return refuse('answer_ended');
  }
  if (c.resumes >= c.settings.maxResumes) {
    return refuse('max_resumes');
  }
  if (c.remainingMs < MIN_RESUME_BUDGET_MS) {
    return refuse('deadline');
  }
  if (c.targetsLeft <= 0) {
    return refuse('no_target');
  }
  return { resume: true };
}

export interface SpliceStart {
  /** The client's block still open when the answer broke (always text: anything else is not resumed). */
  openIndex?: number;
  /** The next block index the client expects. */
  nextIndex: number;
  /** Input-side usage of the message_start the client got. */
  inputUsage: Partial<Usage>;
  /** Output tokens the client already got. */
  outputTokens: number;
  /** Whitespace the client already has that the prefill left out (see `Continuation.skip` in continuation-request.ts). */
  skip: string;
  /** This continuation's number (1 for the first resume), written on its message_stop. */
  resumes: number;
}

/**
 * Maps a continuation's events onto the client's stream: its message_start is dropped, its first text block
 * continues the client's open one (or, when that one was already stopped, starts the next index), later
 * indices follow on, and the final usage counts both answers against the original input.
 */
export class ContinuationSplicer {
  private readonly indices = new Map<number, number>();
  /** The client's open block, until the continuation takes it over or moves past it. */
  private open?: number;
  private nextIndex: number;
  private skip: string;
  /** The continuation's block whose leading whitespace is checked against `skip`. */
  private trimIndex?: number;
  private sawBlock = false;

  constructor(private readonly start: SpliceStart) {
    this.open = start.openIndex;
    this.nextIndex = start.nextIndex;
    this.skip = start.skip;
  }

  map(ev: StreamEvent): StreamEvent[] {
    switch (ev.type) {
      case 'message_start':
        return [];
      case 'ping':
      case 'error':
        return [ev];
      case 'content_block_start': {
        const first = !this.sawBlock;
        this.sawBlock = true;
        if (first && ev.content_block.type === 'text') {
          this.trimIndex = ev.index;
          if (this.open !== undefined) {
            this.indices.set(ev.index, this.open);
            this.open = undefined;
            // A start that carries text of its own (not Anthropic's way, but allowed) keeps it as a delta.
            const initial = (ev.content_block as { text?: unknown }).text;
            return typeof initial === 'string' && initial !== ''
              ? this.map({
                  type: 'content_block_delta',
                  index: ev.index,
                  delta: { type: 'text_delta', text: initial },
                })
              : [];
          }
        }
        const out = this.closeOpen();
        const index = this.nextIndex++;
        this.indices.set(ev.index, index);
        out.push({ ...ev, index });
        return out;
      }
      case 'content_block_delta': {
        if (ev.delta.type === 'text_delta' && ev.index === this.trimIndex && this.skip) {
          const text = this.dropSkipped(ev.delta.text);
          return text ? [{ ...ev, index: this.indexOf(ev.index), delta: { ...ev.delta, text } }] : [];
        }
        if (ev.index === this.trimIndex) {
          this.skip = '';
        }
        return [{ ...ev, index: this.indexOf(ev.index) }];
      }
      case 'content_block_stop':
        return [{ ...ev, index: this.indexOf(ev.index) }];
      case 'message_delta': {
        const out = this.closeOpen();
        const usage = ev.usage ?? { output_tokens: 0 };
        out.push({
          ...ev,
          usage: {
            ...usage,
            ...this.start.inputUsage,
            output_tokens: this.start.outputTokens + (usage.output_tokens ?? 0),
          },
        });
        return out;
      }
      case 'message_stop':
        return [...this.closeOpen(), Object.assign({}, ev, { [RESUMED_FIELD]: this.start.resumes })];
    }
  }

  /** The continuation went on without taking over the client's open block: it is stopped first. */
  private closeOpen(): StreamEvent[] {
    if (this.open === undefined) {
      return [];
    }
    const index = this.open;
    this.open = undefined;
    return [{ type: 'content_block_stop', index }];
  }

  /** A block the continuation never started (a grammar slip upstream) keeps its index past the client's. */
  private indexOf(index: number): number {
    return this.indices.get(index) ?? this.start.nextIndex + index;
  }

  /** Drops the leading whitespace the client already has; the first other character ends the check. */
  private dropSkipped(text: string): string {
    let i = 0;
    while (i < text.length && i < this.skip.length && text[i] === this.skip[i]) {
      i++;
    }
    if (i < text.length) {
      this.skip = '';
    } else {
      this.skip = this.skip.slice(i);
    }
    return text.slice(i);
  }
}
