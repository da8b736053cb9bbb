import type { StreamEvent } from './types';

/** One dispatched Server-Sent Event (WHATWG HTML §9.2 "event stream interpretation"). */
export interface SseMessage {
  event?: string;
  data: string;
  id?: string;
}

const LINE_BREAK = /[\r\n]/g;
/** Far above any real event (whole-chunk tool calls included), low enough to stop a runaway upstream. */
const DEFAULT_MAX_EVENT_CHARS = 16 * 1024 * 1024;
const LF = 10;
const CR = 13;

/**
 * Incremental, lenient SSE parser. Upstream bodies arrive in arbitrary byte chunks, so one streaming
 * TextDecoder carries split UTF-8 sequences across `push` calls, and only the unfinished line is kept
 * (as pieces, joined once per line) so a long stream costs O(n), not O(n²).
 */
export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private readonly maxEventChars: number;
  /** Pieces of the current, not yet terminated line. */
  private partial: string[] = [];
  private partialChars = 0;
  private dataChars = 0;
  /** The previous chunk ended in CR: a LF at the start of the next one belongs to the same line break. */
  private skipLeadingLF = false;
  private atStreamStart = true;
  private dataLines: string[] = [];
  private eventType: string | undefined;
  private eventId: string | undefined;

  /** `maxEventChars` bounds what one unfinished event may buffer; beyond it `push` throws SseLimitError. */
  constructor(opts: { maxEventChars?: number } = {}) {
    this.maxEventChars = opts.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS;
  }

  push(chunk: Uint8Array | string): SseMessage[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const out: SseMessage[] = [];
    this.feed(text, out);
    return out;
  }

  /** Upstream EOF: a last event without its blank line is still delivered (lenient, unlike browsers). */
  end(): SseMessage[] {
    const out: SseMessage[] = [];
    this.feed(this.decoder.decode(), out);
    if (this.partial.length > 0) {
      const line = this.partial.join('');
      this.partial = [];
      this.partialChars = 0;
      this.processLine(line, out);
    }
    this.dispatch(out);
    this.skipLeadingLF = false;
    this.atStreamStart = true;
    return out;
  }

  private feed(input: string, out: SseMessage[]): void {
    let text = input;
    if (text.length === 0) {
      return;
    }
    if (this.atStreamStart) {
      this.atStreamStart = false;
      // String input bypasses TextDecoder, which is what strips the BOM for byte input.
      if (text.charCodeAt(0) === 0xfeff) {
        text = text.slice(1);
      }
    }
    let start = 0;
    if (this.skipLeadingLF) {
      this.skipLeadingLF = false;
      if (text.charCodeAt(0) === LF) {
        start = 1;
      }
    }
    LINE_BREAK.lastIndex = start;
    let match: RegExpExecArray | null;
    while ((match = LINE_BREAK.exec(text)) !== null) {
      const at = match.index;
      const piece = text.slice(start, at);
      const line = this.partial.length > 0 ? this.partial.join('') + piece : piece;
      this.partial = [];
      this.partialChars = 0;
      this.processLine(line, out);
      start = at + 1;
      if (text.charCodeAt(at) === CR) {
        if (start === text.length) {
          this.skipLeadingLF = true;
        } else if (text.charCodeAt(start) === LF) {
          start += 1;
        }
      }
      LINE_BREAK.lastIndex = start;
    }
    if (start < text.length) {
      this.partial.push(text.slice(start));
      this.partialChars += text.length - start;
      this.checkLimit();
    }
  }

  private checkLimit(): void {
    if (this.partialChars + this.dataChars > this.maxEventChars) {
      throw new SseLimitError(this.maxEventChars);
    }
  }

  private processLine(line: string, out: SseMessage[]): void {
    if (line.length === 0) {
      this.dispatch(out);
      return;
    }
    if (line.charCodeAt(0) === 0x3a /* ':' */) {
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 0x20) {
      value = value.slice(1);
    }
    switch (field) {
      case 'data':
        this.dataLines.push(value);
        this.dataChars += value.length + 1;
        this.checkLimit();
        break;
      case 'event':
        this.eventType = value;
        break;
      case 'id':
        if (!value.includes('\0')) {
          this.eventId = value;
        }
        break;
      default:
        // `retry` and unknown fields carry nothing a proxy acts on.
        break;
    }
  }

  private dispatch(out: SseMessage[]): void {
    if (this.dataLines.length > 0) {
      const msg: SseMessage = { data: this.dataLines.join('\n') };
      if (this.eventType !== undefined && this.eventType !== '') {
        msg.event = this.eventType;
      }
      if (this.eventId !== undefined) {
        msg.id = this.eventId;
      }
      out.push(msg);
    }
    this.dataLines = [];
    this.dataChars = 0;
    this.eventType = undefined;
    this.eventId = undefined;
  }
}

/** An upstream sent an event larger than the parser may buffer: a protocol failure, not data to keep. */
export class SseLimitError extends Error {
  constructor(readonly limit: number) {
    super(`SSE event exceeds ${limit} characters`);
    this.name = 'SseLimitError';
  }
}

/** Anthropic framing: the SDK dispatches on the `event:` line, so it is always written (PROTOCOL §3.1). */
export function encodeAnthropicEvent(ev: StreamEvent): string {
  return `event: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`;
}

/** OpenAI framing: `data:` lines only, terminated by `data: [DONE]`. */
export function encodeOpenAIData(payload: object | '[DONE]'): string {
  return `data: ${payload === '[DONE]' ? '[DONE]' : JSON.stringify(payload)}\n\n`;
}

/** A keep-alive comment. Every line is prefixed so that text with line breaks cannot inject fields. */
export function encodeSseComment(text: string): string {
  return (
    text
      .split(/\r\n|\r|\n/)
      .map((line) => `: ${line}`)
      .join('\n') + '\n\n'
  );
}
