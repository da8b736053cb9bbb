import type { OpenAIChunkDelta } from './openai-types';
import type { BlockSequencer } from './openai-stream-blocks';
import { sanitizeToolId, type ToolNameMap } from './tool-ids';
import type { StreamEvent } from './types';

export type ToolCallFragment = NonNullable<OpenAIChunkDelta['tool_calls']>[number];

interface ToolCall {
  upstreamId: string | undefined;
  name: string | undefined;
  /** Argument fragments not yet sent; kept separate so a late flush replays the provider's own chunking. */
  fragments: string[];
  blockIndex: number | undefined;
}

/**
 * Turns OpenAI `tool_calls` fragments into tool_use blocks (PROTOCOL §6.9 step 4).
 *
 * Only one block can be open, and a stopped block can never be reopened, so a call streams live only when
 * no other tool block is open; later calls are held (fragments intact) and emitted at the end. Providers
 * that send calls one after the other produce the same event sequence either way, and a provider that
 * interleaves the arguments of parallel calls cannot make us lose or misplace a fragment.
 */
export class ToolCallAssembler {
  private readonly byKey = new Map<number, ToolCall>();
  /** Calls without a block yet, in the order the provider announced them. */
  private readonly waiting: ToolCall[] = [];

  constructor(
    private readonly blocks: BlockSequencer,
    private readonly toolNames: ToolNameMap | undefined,
  ) {}

  push(fragment: ToolCallFragment, position: number, out: StreamEvent[]): void {
    const key = typeof fragment.index === 'number' ? fragment.index : position;
    const id = normalizeId(fragment.id);
    const name =
      typeof fragment.function?.name === 'string' && fragment.function.name !== ''
        ? fragment.function.name
        : undefined;
    let call = this.byKey.get(key);
    if (call !== undefined && id !== undefined && call.upstreamId !== undefined && id !== call.upstreamId) {
      // Some providers put every call at index 0 (lich0821/ccNexus#89): a new id there means the
      // previous call in that slot is complete.
      if (this.isOpen(call)) {
        this.blocks.close(out);
      }
      call = undefined;
    }
    if (call === undefined) {
      call = { upstreamId: id, name, fragments: [], blockIndex: undefined };
      this.byKey.set(key, call);
      this.waiting.push(call);
    } else {
      call.upstreamId ??= id;
      if (call.blockIndex === undefined) {
        call.name ??= name;
      }
    }
    const args = fragment.function?.arguments;
    if (typeof args === 'string' && args !== '') {
      call.fragments.push(args);
    }
    this.advance(call, out);
  }

  /** End of the upstream answer: every held call becomes a block, in announcement order. */
  flush(out: StreamEvent[]): void {
    for (const call of this.waiting.splice(0)) {
      // A call whose name never arrived cannot be executed by the client; emitting it would only
      // produce a "tool not found" turn.
      if (call.name !== undefined) {
        this.start(call, out);
      }
    }
  }

  private advance(call: ToolCall, out: StreamEvent[]): void {
    if (call.blockIndex !== undefined) {
      if (this.isOpen(call)) {
        this.sendFragments(call, out);
      } else {
        // Arguments for a call whose block already had to close (text came in between). A stopped
        // block cannot be reopened (§6.9 step 5), so these fragments have nowhere valid to go.
        call.fragments = [];
      }
      return;
    }
    this.startNextWaiting(out);
  }

  /** Starts the oldest held call if it can stream live: it has a name and no tool block is open. */
  private startNextWaiting(out: StreamEvent[]): void {
    const head = this.waiting[0];
    if (head !== undefined && head.name !== undefined && this.blocks.openKind !== 'tool_use') {
      this.waiting.shift();
      this.start(head, out);
    }
  }

  private start(call: ToolCall, out: StreamEvent[]): void {
    const name = call.name ?? '';
    call.blockIndex = this.blocks.open(
      {
        type: 'tool_use',
        id: sanitizeToolId(call.upstreamId),
        name: this.toolNames?.original(name) ?? name,
        input: {},
      },
      out,
    );
    this.sendFragments(call, out);
  }

  private sendFragments(call: ToolCall, out: StreamEvent[]): void {
    for (const partial_json of call.fragments) {
      this.blocks.delta({ type: 'input_json_delta', partial_json }, out);
    }
    call.fragments = [];
  }

  private isOpen(call: ToolCall): boolean {
    return call.blockIndex !== undefined && this.blocks.openIndex === call.blockIndex;
  }
}

/** OpenRouter sometimes sends numeric ids; an empty id is no id. */
function normalizeId(id: unknown): string | undefined {
  if (typeof id === 'number' && Number.isFinite(id)) {
    return String(id);
  }
  return typeof id === 'string' && id !== '' ? id : undefined;
}
