import type { BlockDelta, ResponseBlock, StreamEvent } from './types';

export type BlockKind = 'text' | 'thinking' | 'tool_use';

/**
 * Owns content-block indices for a synthesized Anthropic stream. All block starts, deltas and stops go
 * through here so the grammar of PROTOCOL §3.2 holds by construction: indices are allocated sequentially,
 * at most one block is open, a delta only targets the open block, and a block is stopped exactly once.
 */
export class BlockSequencer {
  private nextIndex = 0;
  private current: { kind: BlockKind; index: number; refusal: boolean } | undefined;
  private thinkingText = '';
  private upstreamSignature: string | undefined;
  private outputChars = 0;
  private toolBlockCount = 0;

  /** `mint` signs reasoning from upstreams that do not sign it (clients require a signature, §6.4). */
  constructor(private readonly mint: (thinking: string) => string) {}

  get openKind(): BlockKind | undefined {
    return this.current?.kind;
  }

  get openIndex(): number | undefined {
    return this.current?.index;
  }

  /** The open block is a text block holding a refusal (OpenAI `refusal`), not answer content. */
  get openIsRefusal(): boolean {
    return this.current?.refusal === true;
  }

  get toolBlocks(): number {
    return this.toolBlockCount;
  }

  /** Characters of text, reasoning and tool arguments sent so far: the basis of usage estimates. */
  get emittedChars(): number {
    return this.outputChars;
  }

  /** A real signature (OpenRouter → Claude) replaces the minted one for the current/next thinking block. */
  useSignature(signature: string): void {
    this.upstreamSignature = signature;
  }

  /** `refusal`: a text block holding the model's refusal (see ContentBlockStartEvent.refusal). */
  open(block: ResponseBlock, out: StreamEvent[], refusal = false): number {
    this.close(out);
    const index = this.nextIndex++;
    const kind = block.type as BlockKind;
    this.current = { kind, index, refusal };
    if (kind === 'tool_use') {
      this.toolBlockCount += 1;
    }
    out.push(
      refusal
        ? { type: 'content_block_start', index, content_block: block, refusal: true }
        : { type: 'content_block_start', index, content_block: block },
    );
    return index;
  }

  /** Appends to the open block; callers check `openKind` first, so a mismatch is a programming error. */
  delta(delta: BlockDelta, out: StreamEvent[]): void {
    if (this.current === undefined) {
      throw new Error(`delta ${delta.type} without an open block`);
    }
    switch (delta.type) {
      case 'text_delta':
        this.outputChars += delta.text.length;
        break;
      case 'thinking_delta':
        this.outputChars += delta.thinking.length;
        this.thinkingText += delta.thinking;
        break;
      case 'input_json_delta':
        this.outputChars += delta.partial_json.length;
        break;
      case 'signature_delta':
      case 'citations_delta':
        break;
    }
    out.push({ type: 'content_block_delta', index: this.current.index, delta });
  }

  /** Idempotent. A thinking block gets its one signature_delta right before its stop, like the real API. */
  close(out: StreamEvent[]): void {
    if (this.current === undefined) {
      return;
    }
    const { kind, index } = this.current;
    if (kind === 'thinking') {
      const signature = this.upstreamSignature ?? this.mint(this.thinkingText);
      out.push({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature } });
      this.thinkingText = '';
      this.upstreamSignature = undefined;
    }
    out.push({ type: 'content_block_stop', index });
    this.current = undefined;
  }
}
