/**
 * Toolset intern: one shared, immutable entry per distinct `tools` array (and `system` block array) seen
 * recently.
 *
 * Claude Code resends the same ~24 tool definitions (~63 KB of JSON) and the same ~6 KB system prompt on
 * every turn of a session, and every session of one Claude Code version sends the same tools. What is
 * derived from them alone — token counts, cache-key digests, the OpenAI conversion of the tools and the
 * JSON text of it all — is therefore computed once per distinct value and kept on its entry
 * (`InternEntry.derive`) instead of being redone on every request.
 *
 * Safety rules, because a wrong hit would hand one request another request's data:
 * - an entry is found by a cheap fingerprint (element count; per element its key count, its name or type
 *   and the length of its top-level strings) and then confirmed by an exact deep comparison
 *   (`jsonDeepEqual`: same types and prototypes, same keys in the same order, Object.is on primitives),
 *   so equal fingerprints of different values never match;
 * - only plain JSON data is interned (plain objects and arrays, strings, numbers, booleans, null,
 *   undefined object members; bounded depth). Deep equality of such values implies that JSON.stringify,
 *   canonical JSON and every pure function of them give identical results;
 * - an entry holds its own deep-frozen copy (checked equal to the request's value), so no later mutation
 *   of a request can change it; whatever is derived from it is deep-frozen too;
 * - a request's array is tied to its entry through a WeakMap (nothing is added to CanonicalRequest, whose
 *   JSON shape goes into queue jobs: a worker process just interns its own copy again). The canonical
 *   request is not mutated after validation anywhere in the gateway (transformer hooks work on clones).
 *
 * Bounded: per kind at most MAX_ENTRIES values and MAX_CHARS characters of strings; a bigger value is
 * not interned (an entry holds its value plus a few derived copies: the OpenAI tools, JSON texts).
 */

/** Distinct values kept per kind (Claude Code versions × main agent / subagents / side requests). */
const MAX_ENTRIES = 32;
/** Characters of strings (keys and values) across one kind's entries; a quarter of it per value. */
const MAX_CHARS = 4_000_000;
/** Deeper values are not interned (also the guard against cyclic objects built in code). */
const MAX_DEPTH = 64;

type Rec = Record<string, unknown>;

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Checks a value is plain JSON data and adds up its string characters (keys included). */
function measure(value: unknown, depth: number, acc: { chars: number }): boolean {
  switch (typeof value) {
    case 'string':
      acc.chars += value.length;
      return true;
    case 'number':
    case 'boolean':
      return true;
    case 'object': {
      if (value === null) {
        return true;
      }
      if (depth >= MAX_DEPTH) {
        return false;
      }
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) {
          return false;
        }
        for (let i = 0; i < value.length; i++) {
          // Holes and undefined elements behave differently in filter/map than in JSON: not interned.
          if (!(i in value) || value[i] === undefined || !measure(value[i], depth + 1, acc)) {
            return false;
          }
        }
        return true;
      }
      if (!isPlainObject(value)) {
        return false;
      }
      const obj = value as Rec;
      for (const key of Object.keys(obj)) {
        acc.chars += key.length;
        const v = obj[key];
        if (v !== undefined && !measure(v, depth + 1, acc)) {
          return false;
        }
      }
      return true;
    }
    case 'undefined':
    case 'function':
    case 'symbol':
    case 'bigint':
      // Not JSON data (undefined object members are skipped before this is asked).
      return false;
  }
}

/**
 * A cheap key for an array of objects (tool definitions, system blocks): only the top level is looked
 * at. Undefined when the value is not an array of objects (left to the per-request code paths).
 */
function fingerprintOf(items: readonly unknown[]): string | undefined {
  if (Object.getPrototypeOf(items) !== Array.prototype) {
    return undefined;
  }
  let key = `${items.length}`;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      return undefined;
    }
    const rec = item as Rec;
    let chars = 0;
    let keys = 0;
    for (const k in rec) {
      keys++;
      const v = rec[k];
      if (typeof v === 'string') {
        chars += v.length;
      }
    }
    const label = typeof rec.name === 'string' ? rec.name : typeof rec.type === 'string' ? rec.type : '';
    key += `\u0000${keys}:${chars}:${label}`;
  }
  return key;
}

/**
 * Exact equality of two values as the intern needs it: same types, same prototypes, same own keys in the
 * same order, primitives equal by Object.is (so 0 and -0 differ). Stricter than JSON equivalence on
 * purpose: when `a` is plain JSON data and this says equal, JSON.stringify of both is byte-identical and
 * every function of plain data gives the same result for both.
 */
export function jsonDeepEqual(a: unknown, b: unknown, depth = 0): boolean {
  if (a === b && (typeof a === 'object' || typeof a === 'string')) {
    return true; // the same object (acyclic plain data) or the same string
  }
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    return Object.is(a, b);
  }
  if (depth >= MAX_DEPTH || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) {
    return false;
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) {
      return false;
    }
    for (let i = 0; i < a.length; i++) {
      if (!jsonDeepEqual(a[i], b[i], depth + 1)) {
        return false;
      }
    }
    return true;
  }
  if (Array.isArray(b)) {
    return false;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) {
    return false;
  }
  const ra = a as Rec;
  const rb = b as Rec;
  for (let i = 0; i < ka.length; i++) {
    const key = ka[i];
    if (key !== kb[i] || !jsonDeepEqual(ra[key], rb[key], depth + 1)) {
      return false;
    }
  }
  return true;
}

/** Deep copy of plain JSON data, keeping key order, prototypes (plain or null) and `__proto__` keys. */
function copyJson(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) {
    return value;
  }
  if (Array.isArray(value)) {
    return value.map(copyJson);
  }
  const out: Rec = Object.getPrototypeOf(value) === null ? (Object.create(null) as Rec) : {};
  const src = value as Rec;
  for (const key of Object.keys(src)) {
    if (key === '__proto__') {
      Object.defineProperty(out, key, {
        value: copyJson(src[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      out[key] = copyJson(src[key]);
    }
  }
  return out;
}

/**
 * Freezes a value and everything reachable from it. Already frozen objects are walked too (shallow
 * freezing is not enough); each object is visited once, so shared or cyclic references are fine.
 */
export function deepFreeze<T>(value: T): T {
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null || seen.has(v)) {
      continue;
    }
    seen.add(v);
    Object.freeze(v);
    for (const key of Object.keys(v)) {
      stack.push((v as Rec)[key]);
    }
  }
  return value;
}

/**
 * JSON text of deep-frozen values that upstream bodies may carry by reference (interned values and what
 * was derived from them). Frozen means the text can never go stale; `stringifyWithInterned` splices it in.
 */
const frozenJson = new WeakMap<object, { text?: string }>();

function registerFrozenJson(value: object): void {
  if (!frozenJson.has(value)) {
    frozenJson.set(value, {});
  }
}

/** JSON.stringify of a value registered by the intern (computed once), or undefined for any other value. */
export function internedJsonText(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) {
    return undefined;
  }
  const slot = frozenJson.get(value);
  if (slot === undefined) {
    return undefined;
  }
  slot.text ??= JSON.stringify(value);
  return slot.text;
}

/** JSON.stringify as it behaves: undefined for undefined, functions and symbols. */
const stringifyMember: (value: unknown) => string | undefined = JSON.stringify;

/**
 * JSON.stringify(body), byte for byte, with the members whose value is interned (see internedJsonText)
 * spliced in from their memoised text instead of being serialised again. Anything else (including a
 * tools array a transformer hook rewrote, which is always a copy) is serialised as usual.
 */
export function stringifyWithInterned(body: Rec): string {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !isPlainObject(body)) {
    return JSON.stringify(body);
  }
  const keys = Object.keys(body);
  let any = false;
  for (const key of keys) {
    const v = body[key];
    if (typeof v === 'object' && v !== null && frozenJson.has(v)) {
      any = true;
      break;
    }
  }
  if (!any || typeof body.toJSON === 'function') {
    return JSON.stringify(body);
  }
  let out = '{';
  let first = true;
  for (const key of keys) {
    const v = body[key];
    const text = internedJsonText(v) ?? stringifyMember(v);
    if (text === undefined) {
      continue; // undefined, functions, symbols: dropped, as JSON.stringify drops them
    }
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + text;
    first = false;
  }
  return out + '}';
}

/** One distinct interned value and whatever was derived from it so far. */
export interface InternEntry {
  /** Deep-frozen copy, deep-equal to every array this entry was handed out for. */
  readonly value: readonly Rec[];
  /**
   * A value derived from `value` alone, computed on first use and kept. `slot` names the derivation (a
   * module-level symbol); `compute` must be a pure function of what it is given. The result is
   * deep-frozen, so callers can hand it out by reference, and an object result is registered for
   * splicing its JSON text into upstream bodies (internedJsonText).
   */
  derive<T>(slot: symbol, compute: (value: readonly Rec[]) => T): T;
  /** JSON.stringify(value), computed once. */
  readonly json: string;
}

/** The entry of a `tools` array; `tools` is its deep-frozen copy. */
export interface ToolsetEntry extends InternEntry {
  readonly tools: readonly Rec[];
}

class Entry implements ToolsetEntry {
  private readonly derived = new Map<symbol, unknown>();

  constructor(
    readonly value: readonly Rec[],
    readonly fingerprint: string,
    readonly chars: number,
  ) {
    registerFrozenJson(value);
  }

  get tools(): readonly Rec[] {
    return this.value;
  }

  derive<T>(slot: symbol, compute: (value: readonly Rec[]) => T): T {
    if (this.derived.has(slot)) {
      return this.derived.get(slot) as T;
    }
    const result = deepFreeze(compute(this.value));
    if (typeof result === 'object' && result !== null) {
      registerFrozenJson(result);
    }
    this.derived.set(slot, result);
    return result;
  }

  get json(): string {
    return internedJsonText(this.value) as string;
  }
}

export interface InternStats {
  entries: number;
  chars: number;
  hits: number;
  misses: number;
  /** Fingerprint matched but the deep comparison did not. */
  collisions: number;
}

/** A bounded LRU of interned arrays of one kind, plus the WeakMap from request arrays to their entry. */
class JsonIntern {
  /** Most recently used first. */
  private lru: Entry[] = [];
  private chars = 0;
  /** Request arrays already resolved (null: not internable). */
  private attached = new WeakMap<object, Entry | null>();
  private readonly counters = { hits: 0, misses: 0, collisions: 0 };

  entryOf(items: readonly unknown[]): Entry | undefined {
    const known = this.attached.get(items);
    if (known !== undefined) {
      return known ?? undefined;
    }
    const entry = this.lookup(items);
    this.attached.set(items, entry ?? null);
    return entry;
  }

  private lookup(items: readonly unknown[]): Entry | undefined {
    const fingerprint = fingerprintOf(items);
    if (fingerprint === undefined) {
      return undefined;
    }
    for (let i = 0; i < this.lru.length; i++) {
      const entry = this.lru[i];
      if (entry.fingerprint !== fingerprint) {
        continue;
      }
      if (jsonDeepEqual(entry.value, items)) {
        this.counters.hits++;
        if (i > 0) {
          this.lru.splice(i, 1);
          this.lru.unshift(entry);
        }
        return entry;
      }
      this.counters.collisions++;
    }
    const acc = { chars: 0 };
    if (!measure(items, 0, acc) || acc.chars > MAX_CHARS / 4) {
      return undefined;
    }
    const copy = copyJson(items) as Rec[];
    if (!jsonDeepEqual(copy, items)) {
      return undefined; // cannot happen for plain JSON data; never hand out a copy that differs
    }
    this.counters.misses++;
    const entry = new Entry(deepFreeze(copy), fingerprint, acc.chars);
    this.lru.unshift(entry);
    this.chars += entry.chars;
    while (this.lru.length > MAX_ENTRIES || this.chars > MAX_CHARS) {
      const evicted = this.lru.pop() as Entry;
      this.chars -= evicted.chars;
    }
    return entry;
  }

  stats(): InternStats {
    return { entries: this.lru.length, chars: this.chars, ...this.counters };
  }

  reset(): void {
    this.lru = [];
    this.chars = 0;
    this.attached = new WeakMap();
    this.counters.hits = 0;
    this.counters.misses = 0;
    this.counters.collisions = 0;
  }
}

let enabled = true;
const toolsets = new JsonIntern();
const systems = new JsonIntern();

/**
 * The shared entry for a request's `tools` array (content-equal arrays share one), or undefined when
 * there is none (absent, not an array of objects, not plain JSON data, too big, or the intern is off).
 * The answer for one array object is remembered: later calls for the same request cost a WeakMap lookup.
 */
export function toolsetOf(tools: unknown): ToolsetEntry | undefined {
  return enabled && Array.isArray(tools) ? toolsets.entryOf(tools) : undefined;
}

/** The same for a `system` given as an array of blocks (a string system prompt is not interned). */
export function systemBlocksOf(system: unknown): InternEntry | undefined {
  return enabled && Array.isArray(system) ? systems.entryOf(system) : undefined;
}

export function toolsetInternStats(): InternStats {
  return toolsets.stats();
}

export function systemInternStats(): InternStats {
  return systems.stats();
}

/** Empties the interns (tests). Entries already attached to live requests stay valid. */
export function resetToolsetIntern(): void {
  toolsets.reset();
  systems.reset();
}

/** Turns the interns off (every caller computes from the request, as before) or on again; empties them. */
export function setToolsetInternEnabled(on: boolean): void {
  enabled = on;
  resetToolsetIntern();
}
