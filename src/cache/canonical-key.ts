import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { systemBlocksOf, toolsetOf } from '../protocol/toolset-intern';
import type { CanonicalRequest } from '../protocol/types';

/**
 * The exact-match cache key, as pure functions (no Nest, no I/O).
 *
 * Two requests get one key when the fields that decide the answer are equal as JSON values, whatever their
 * byte form (key order, whitespace, `1.0` vs `1`). `stream`, `metadata`, headers and request ids never take
 * part: a stream and a non-stream client asking the same thing share one entry (ARCHITECTURE.md §1).
 */

/** The request fields that decide the answer; `target` is the resolved "provider,model". */
export const CACHE_KEY_FIELDS = [
  'target',
  'system',
  'messages',
  'tools',
  'tool_choice',
  'thinking',
  'output_config',
  'openai_params',
  'temperature',
  'top_p',
  'top_k',
  'stop_sequences',
  'max_tokens',
] as const;

export type CacheKeyField = (typeof CACHE_KEY_FIELDS)[number];

/** Bumped when the key derivation changes, so old entries simply stop matching. */
export const CACHE_KEY_VERSION = 2;

const sortedKeys = (obj: object): string[] => Object.keys(obj).sort();

/** Strings at least this long have their JSON form memoized; shorter ones are cheaper to escape again. */
const MEMO_MIN_LENGTH = 256;

/**
 * Escaping long strings is most of the cost of a Claude Code body (its 60 KB of tool descriptions and system
 * prompt are resent unchanged every turn), and a Map lookup of an equal string is several times cheaper than
 * JSON.stringify of it. Bounded by characters held (key + value, UTF-16 units ×2 ≈ bytes).
 */
const escapedMemo = new LRUCache<string, string>({
  maxSize: 8 * 1024 * 1024,
  sizeCalculation: (value, key) => (key.length + value.length) * 2,
});

function jsonString(s: string): string {
  if (s.length < MEMO_MIN_LENGTH) {
    return JSON.stringify(s);
  }
  let escaped = escapedMemo.get(s);
  if (escaped === undefined) {
    escaped = JSON.stringify(s);
    escapedMemo.set(s, escaped);
  }
  return escaped;
}

/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, `undefined` members dropped (as
 * JSON.stringify does). Strings and numbers go through JSON.stringify, so escapes and number forms are the
 * engine's, identical for equal values. Built as one string and hashed once: with the memo above, that
 * measured ~2× faster on 76–83 KB Claude Code bodies than streaming the pieces into a Hash (docs/caching.md).
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return jsonString(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) {
        return 'null';
      }
      return Array.isArray(value) ? canonicalArray(value) : canonicalObject(value as Record<string, unknown>);
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      // Not JSON: inside arrays they become null, as in JSON.stringify (object members are dropped earlier).
      return 'null';
  }
}

function canonicalArray(items: unknown[]): string {
  let out = '[';
  for (let i = 0; i < items.length; i++) {
    if (i > 0) {
      out += ',';
    }
    out += canonicalJson(items[i]);
  }
  return out + ']';
}

function canonicalObject(obj: Record<string, unknown>): string {
  let out = '{';
  let first = true;
  for (const key of sortedKeys(obj)) {
    const v = obj[key];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') {
      continue;
    }
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(v);
    first = false;
  }
  return out + '}';
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * A string is shorthand for one text block (the API treats them alike, and the OpenAI ingress produces
 * blocks): both spell the same request, so both get the same key.
 */
const asBlocks = (content: unknown): unknown =>
  typeof content === 'string' ? [{ type: 'text', text: content }] : content;

function normalizedMessages(messages: CanonicalRequest['messages']): unknown {
  if (!Array.isArray(messages) || messages.every((m) => typeof m.content !== 'string')) {
    return messages;
  }
  return messages.map((m) => (typeof m.content === 'string' ? { ...m, content: asBlocks(m.content) } : m));
}

/** The allowlisted fields of a request for one target; absent fields stay absent (undefined). */
export function cacheKeyFields(req: CanonicalRequest, target: string): Record<CacheKeyField, unknown> {
  return {
    target,
    system: req.system === undefined ? undefined : asBlocks(req.system),
    messages: normalizedMessages(req.messages),
    tools: req.tools,
    tool_choice: req.tool_choice,
    thinking: req.thinking,
    output_config: req.output_config,
    openai_params: req.openai_params,
    temperature: req.temperature,
    top_p: req.top_p,
    top_k: req.top_k,
    stop_sequences: req.stop_sequences,
    max_tokens: req.max_tokens,
  };
}

const DIGEST = Symbol('cache-key field digest');

/**
 * Per-field digests: sha256 of each field's canonical JSON, or "absent". `explain()` shows exactly these.
 * The tools and (block array) system digests are kept on the request's interned value
 * (toolset-intern.ts): the same function of a deep-equal value, computed once per distinct toolset or
 * system prompt instead of once per request.
 */
export function fieldDigests(req: CanonicalRequest, target: string): Record<CacheKeyField, string> {
  const fields = cacheKeyFields(req, target);
  const out = {} as Record<CacheKeyField, string>;
  for (const name of CACHE_KEY_FIELDS) {
    const v = fields[name];
    if (v === undefined) {
      out[name] = 'absent';
      continue;
    }
    // A string system prompt is not interned (its one-block form is built per request).
    const interned =
      name === 'tools' ? toolsetOf(v) : name === 'system' && v === req.system ? systemBlocksOf(v) : undefined;
    out[name] =
      interned === undefined
        ? sha256Hex(canonicalJson(v))
        : interned.derive(DIGEST, (value) => sha256Hex(canonicalJson(value)));
  }
  return out;
}

/**
 * The key hash: sha256 over the canonical JSON of the per-field digests (plus the version and, when
 * partitioning, sha256 of the client's API key). Hashing field by field costs the same bytes as hashing one
 * document, and it makes `explain()` verifiable: its field digests are literally what went into the key.
 */
export function cacheKeyFromDigests(digests: Record<CacheKeyField, string>, clientKey?: string): string {
  const doc: Record<string, unknown> = { v: CACHE_KEY_VERSION, fields: digests };
  if (clientKey !== undefined) {
    doc.partition = sha256Hex(clientKey);
  }
  return sha256Hex(canonicalJson(doc));
}

/** sha256 hex of a request's cache identity for one target (without the Redis key prefix). */
export function cacheKey(req: CanonicalRequest, target: string, clientKey?: string): string {
  return cacheKeyFromDigests(fieldDigests(req, target), clientKey);
}
