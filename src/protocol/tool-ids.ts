import { randomAlnum } from '../common/random-id';
import { createHash } from 'node:crypto';

const VALID_ID = /^[a-zA-Z0-9_-]+$/;

/**
 * Deterministic tool id sanitising (PROTOCOL.md §6.12): the same function is applied to tool_use.id and
 * tool_result.tool_use_id, so a provider id like `functions.add:0` round-trips consistently.
 */
export function sanitizeToolId(id: string | number | null | undefined): string {
  if (id === null || id === undefined || id === '') {
    return newToolId();
  }
  const s = String(id);
  return VALID_ID.test(s) ? s : s.replace(/[^a-zA-Z0-9_-]/g, '_');
}

export function newToolId(): string {
  return (
    'toolu_' +
randomAlnum(12)
  );
}

const MAX_TOOL_NAME = 64;
/**
 * What every upstream kind accepts as a function name: OpenAI `^[a-zA-Z0-9_-]{1,64}$`, and Gemini's
 * FunctionDeclaration rule on top (starts with a letter or an underscore).
 */
const SAFE_TOOL_NAME = /^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$/;

/**
 * The name to send upstream for a client's tool name: unchanged when every provider kind accepts it; else
 * a stable, hash-suffixed name (longer than 64 characters — Claude Code MCP tools —, characters outside
 * `[a-zA-Z0-9_-]`, or a leading digit or dash), distinct for distinct names.
 */
export function shortenToolName(name: string): string {
  if (SAFE_TOOL_NAME.test(name)) {
    return name;
  }
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  const cleaned = name.replace(/[^a-zA-Z0-9_-]/g, '_');
  const base = /^[a-zA-Z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
  return `${base.slice(0, MAX_TOOL_NAME - 9)}_${hash}`;
}

/** Maps tool names to upstream-safe names and back, for one request. */
export class ToolNameMap {
  private readonly toShort = new Map<string, string>();
  private readonly toLong = new Map<string, string>();

  static fromNames(names: Iterable<string>): ToolNameMap {
    const map = new ToolNameMap();
    for (const name of names) {
      map.upstream(name);
    }
    return map;
  }

  /** The name to send upstream. */
  upstream(name: string): string {
    const known = this.toShort.get(name);
    if (known !== undefined) {
      return known;
    }
    const short = shortenToolName(name);
    this.toShort.set(name, short);
    this.toLong.set(short, name);
    return short;
  }

  /** The client's original name for an upstream name. */
  original(name: string): string {
    return this.toLong.get(name) ?? name;
  }
}
