import { estimateTokens } from './token-estimate';
import { TokenMemo } from './token-memo';
import { systemBlocksOf, toolsetOf, type InternEntry } from './toolset-intern';

/**
 * BPE (js-tiktoken) runs only on strings up to EXACT_MAX_CHARS without a long run, and only until
 * EXACT_BUDGET_CHARS have been encoded in one request (~2 ms); the rest gets `estimateTokens`. See
 * tokens.ts for the measurements behind these numbers.
 */
export const EXACT_MAX_CHARS = 2048;
const EXACT_BUDGET_CHARS = 4096;
/** Runs that would become one huge pre-token (letters, symbols, whitespace) — the BPE worst case. */
const LONG_RUN = /[\p{L}\p{M}]{40}|[^\s\p{L}\p{N}]{40}|\s{40}/u;

const MEMO_MAX_ENTRIES = 10_000;
/** ~16 MB of retained UTF-16 keys at worst: room for several 100 KB+ Claude Code sessions. */
const MEMO_MAX_CHARS = 8_000_000;

/** Anthropic bills images by area, at most ~1600 tokens for the 1.15 MP it resizes to. */
const IMAGE_TOKENS = 1600;
/** A PDF page costs 1.5–3 k tokens; without parsing the file one page is the honest minimum. */
const DOCUMENT_TOKENS = 1600;
/** Role and separator tokens around each message; and the assistant reply priming (as OpenAI counts). */
const MESSAGE_OVERHEAD = 3;
const REPLY_PRIMING = 3;
/** Block framing for tool calls/results and tool definitions (type, id, name wrappers). */
const TOOL_BLOCK_OVERHEAD = 4;
const TOOL_DEFINITION_OVERHEAD = 8;

export interface TokenCounterStats {
  /** Strings served from the memo. */
  hits: number;
  /** Strings counted with BPE. */
  exact: number;
  /** Strings counted with the estimator (too long, pathological, or over the request's BPE budget). */
  estimated: number;
  entries: number;
  chars: number;
}

export type CountableRequest = {
  system?: unknown;
  messages?: unknown;
  tools?: unknown;
  tool_choice?: unknown;
  thinking?: unknown;
};

type Rec = Record<string, unknown>;
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asRecord = (v: unknown): Rec => (typeof v === 'object' && v !== null ? (v as Rec) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * Counts request tokens with a per-string memo. Estimates are memoised as final rather than upgraded
 * later, so the same body always gets the same count (stable routing) and a resent body is served from
 * the memo alone.
 */
export class TokenCounter {
  private readonly memo = new TokenMemo(MEMO_MAX_ENTRIES, MEMO_MAX_CHARS);
  private hits = 0;
  private exact = 0;
  private estimated = 0;
  /** BPE characters still allowed in the current count. */
  private budget = 0;
  /**
   * Tokens per interned toolset / system block array (toolset-intern.ts), as this counter first counted
   * them: the same strings would be memo hits with these very counts on every later request, so the sum
   * is kept instead of re-stringifying and looking up ~70 KB of Claude Code tool schemas and system
   * prompt per request. `strings` is how many strings that count consisted of, reported as memo hits
   * when it is reused.
   */
  private interned = new WeakMap<InternEntry, { tokens: number; strings: number }>();

  constructor(private readonly bpe: (text: string) => number) {}

  stats(): TokenCounterStats {
    return {
      hits: this.hits,
      exact: this.exact,
      estimated: this.estimated,
      entries: this.memo.size,
      chars: this.memo.totalChars,
    };
  }

  reset(): void {
    this.memo.clear();
    this.interned = new WeakMap();
    this.hits = 0;
    this.exact = 0;
    this.estimated = 0;
  }

  countText(text: string): number {
    this.budget = EXACT_MAX_CHARS;
    return typeof text === 'string' ? this.countString(text) : 0;
  }

  /**
   * Input tokens of a Messages request: system, messages, tool definitions (name + description + JSON
   * schema), tool_choice and thinking config. Never throws on odd shapes (count_tokens bodies are not
   * validated as strictly as Messages bodies).
   */
  countRequest(req: CountableRequest): number {
    this.budget = EXACT_BUDGET_CHARS;
    const system = systemBlocksOf(req.system);
    let total =
      REPLY_PRIMING +
      (system === undefined
        ? this.countContent(req.system)
        : this.countInterned(system, (blocks) => this.countContent(blocks)));
    for (const message of asArray(req.messages)) {
      total += MESSAGE_OVERHEAD + this.countContent(asRecord(message).content);
    }
    total += this.countTools(req.tools);
    return total + this.countJson(req.tool_choice) + this.countJson(req.thinking);
  }

  private countString(text: string): number {
    if (text.length === 0) {
      return 0;
    }
    const hit = this.memo.get(text);
    if (hit !== undefined) {
      this.hits++;
      return hit.tokens;
    }
    const exact = text.length <= EXACT_MAX_CHARS && text.length <= this.budget && !LONG_RUN.test(text);
    let tokens: number;
    if (exact) {
      tokens = this.bpe(text);
      this.budget -= text.length;
      this.exact++;
    } else {
      tokens = estimateTokens(text);
      this.estimated++;
    }
    this.memo.set(text, { tokens, exact });
    return tokens;
  }

  private countJson(value: unknown): number {
    if (value === undefined || value === null) {
      return 0;
    }
    try {
      return this.countString(typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));
    } catch {
      // Cyclic or BigInt values cannot come from a JSON body; count nothing rather than fail a request.
      return 0;
    }
  }

  private countContent(content: unknown): number {
    if (typeof content === 'string') {
      return this.countString(content);
    }
    let total = 0;
    for (const block of asArray(content)) {
      total += this.countBlock(asRecord(block));
    }
    return total;
  }

  private countBlock(block: Rec): number {
    switch (block.type) {
      case 'text':
        return this.countString(str(block.text));
      case 'thinking':
        return this.countString(str(block.thinking));
      case 'redacted_thinking':
        // Opaque ciphertext: its length says roughly how much thinking it holds, BPE of it says nothing.
        return Math.ceil(str(block.data).length / 4);
      case 'image':
        return IMAGE_TOKENS;
      case 'document': {
        const source = asRecord(block.source);
        if (source.type === 'text') {
          return this.countString(str(source.data));
        }
        return source.type === 'content' ? this.countContent(source.content) : DOCUMENT_TOKENS;
      }
      case 'tool_use':
        return TOOL_BLOCK_OVERHEAD + this.countString(str(block.name)) + this.countJson(block.input);
      case 'tool_result':
        return TOOL_BLOCK_OVERHEAD + this.countContent(block.content);
      default:
        return this.countJson(block);
    }
  }

  private countTools(tools: unknown): number {
    const toolset = toolsetOf(tools);
    if (toolset === undefined) {
      let total = 0;
      for (const tool of asArray(tools)) {
        total += this.countTool(tool);
      }
      return total;
    }
    return this.countInterned(toolset, (defs) => {
      let total = 0;
      for (const tool of defs) {
        total += this.countTool(tool);
      }
      return total;
    });
  }

  /**
   * The count of an interned value: kept from the first time this counter counted it — exactly as
   * without the intern (same memo, same remaining BPE budget), from the entry's deep-equal copy.
   */
  private countInterned(entry: InternEntry, count: (value: readonly Rec[]) => number): number {
    const known = this.interned.get(entry);
    if (known !== undefined) {
      this.hits += known.strings;
      return known.tokens;
    }
    const before = this.hits + this.exact + this.estimated;
    const tokens = count(entry.value);
    this.interned.set(entry, { tokens, strings: this.hits + this.exact + this.estimated - before });
    return tokens;
  }

  private countTool(raw: unknown): number {
    const tool = asRecord(raw);
    if (tool.input_schema === undefined) {
      // Server tools (web_search_…, bash_…) are a handful of fields; their JSON is a fair proxy.
      return TOOL_DEFINITION_OVERHEAD + this.countJson(tool);
    }
    return (
      TOOL_DEFINITION_OVERHEAD +
      this.countString(str(tool.name)) +
      this.countString(str(tool.description)) +
      this.countJson(tool.input_schema)
    );
  }
}
