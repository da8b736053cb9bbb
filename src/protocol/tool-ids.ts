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

/** Shortens a tool name OpenAI would reject (> 64 chars) to a stable, hash-suffixed name. */
export function shortenToolName(name: string): string {
  if (name.length <= MAX_TOOL_NAME) {
    return name;
  }
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_TOOL_NAME - 9)}_${hash}`;
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
