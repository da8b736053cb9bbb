import { createHash, type Hash } from 'node:crypto';
import type { StreamEvent, Usage } from '../protocol/types';

export interface DigestSummary {
  ttfbMs?: number;
  durationMs?: number;
  inputTokens?: number;
  outputTokens?: number;
  stopReason?: string;
  textHash?: string;
  /** message_stop seen. */
  complete: boolean;
  /** A terminal error event: "type: message". */
  error?: string;
}

const promptTokens = (u: Partial<Usage>): number =>
  (u.input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0);

/**
 * What is compared of an answer, folded from its canonical events as they pass: first and last event times,
 * usage, stop reason and a hash of what the model said (text and tool-call input; thinking and signatures
 * vary run to run and are left out). Constant memory whatever the answer's size.
 */
export class AnswerDigest {
  private readonly hash: Hash = createHash('sha256');
  private firstAt?: number;
  private lastAt?: number;
  private usage: Partial<Usage> = {};
  private stopReason?: string;
  private complete = false;
  private error?: string;
  /** Set once read: a Hash cannot be updated after its digest. */
  private textHash?: string;

  /** `startedAt`: performance.now() the times are measured from. */
  constructor(private readonly startedAt: number) {}

  /** The first event is in hand (the primary's answer opened), whether or not it is pushed. */
  opened(now = performance.now()): void {
    this.firstAt ??= now;
  }

  push(ev: StreamEvent, now = performance.now()): void {
    this.firstAt ??= now;
    switch (ev.type) {
      case 'message_start':
        this.usage = { ...ev.message.usage };
        return;
      case 'content_block_start':
        this.hashBlockStart(ev.content_block as unknown as Record<string, unknown>);
        return;
      case 'content_block_delta':
        if (ev.delta.type === 'text_delta') {
          this.feed(ev.delta.text);
        } else if (ev.delta.type === 'input_json_delta') {
          this.feed(ev.delta.partial_json);
        }
        return;
      case 'message_delta':
        this.usage = { ...this.usage, ...ev.usage };
        if (ev.delta.stop_reason) {
          this.stopReason = ev.delta.stop_reason;
        }
        return;
      case 'message_stop':
        this.complete = true;
        this.lastAt = now;
        return;
      case 'error':
        this.error = `${ev.error.type}: ${ev.error.message}`;
        this.lastAt = now;
        return;
      case 'content_block_stop':
      case 'ping':
        return;
    }
  }

  /** The events are over (finished or abandoned): the last time stands if none was set. */
  end(now = performance.now()): void {
    this.lastAt ??= now;
  }

  get started(): number {
    return this.startedAt;
  }

  summary(): DigestSummary {
    const has = this.usage.output_tokens !== undefined || this.usage.input_tokens !== undefined;
    return {
      ttfbMs: this.firstAt === undefined ? undefined : round(this.firstAt - this.startedAt),
      durationMs: this.lastAt === undefined ? undefined : round(this.lastAt - this.startedAt),
      inputTokens: has ? promptTokens(this.usage) : undefined,
      outputTokens: has ? (this.usage.output_tokens ?? 0) : undefined,
      stopReason: this.stopReason,
      textHash: this.firstAt === undefined ? undefined : this.digest(),
      complete: this.complete,
      error: this.error,
    };
  }

  private hashBlockStart(block: Record<string, unknown>): void {
    // A separator per block: "ab" + "c" in two blocks is not "a" + "bc".
    if (block.type === 'text') {
      this.feed(`\u0000text\u0000${typeof block.text === 'string' ? block.text : ''}`);
    } else if (block.type === 'tool_use') {
      const input =
        block.input && typeof block.input === 'object' && Object.keys(block.input).length > 0
          ? JSON.stringify(block.input)
          : '';
      this.feed(`\u0000tool\u0000${String(block.name)}\u0000${input}`);
    }
  }

  private feed(text: string): void {
    if (this.textHash === undefined) {
      this.hash.update(text);
    }
  }

  private digest(): string {
    this.textHash ??= this.hash.digest('hex').slice(0, 16);
    return this.textHash;
  }
}

const round = (ms: number): number => Math.max(0, Math.round(ms * 10) / 10);
