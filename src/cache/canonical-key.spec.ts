import fc from 'fast-check';
import { loadClaudeCodeCaptures } from '../protocol/claude-code-fixtures.test-helpers';
import { setToolsetInternEnabled, toolsetInternStats } from '../protocol/toolset-intern';
import type { CanonicalRequest } from '../protocol/types';
import { CACHE_KEY_FIELDS, cacheKey, canonicalJson, fieldDigests, sha256Hex } from './canonical-key';

/** Deep copy with every object's keys in an order chosen by `rand` (a byte-different but equal value). */
function shuffleKeys(value: unknown, rand: () => number): unknown {
  if (Array.isArray(value)) {
    return value.map((v) => shuffleKeys(v, rand));
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    for (let i = entries.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [entries[i], entries[j]] = [entries[j], entries[i]];
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, shuffleKeys(v, rand)]));
  }
  return value;
}

/** Re-reads a value from JSON text with arbitrary whitespace, as a different client would send it. */
const viaText = (value: unknown, indent: number): unknown => JSON.parse(JSON.stringify(value, null, indent));

const seededRandom = (seed: number): (() => number) => {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
};

const text = fc.oneof(
  fc.string(),
  fc.string({ minLength: 256, maxLength: 600 }),
  fc.constant('é "q"\n\\ 🚀'),
);
const block = fc.oneof(
  fc.record({
    type: fc.constant('text'),
    text,
    cache_control: fc.option(fc.constant({ type: 'ephemeral' }), { nil: undefined }),
  }),
  fc.record({ type: fc.constant('tool_use'), id: fc.string(), name: fc.string(), input: fc.jsonValue() }),
);
const message = fc.record({
  role: fc.constantFrom('user' as const, 'assistant' as const),
  content: fc.oneof(text, fc.array(block, { maxLength: 3 })),
});
const request: fc.Arbitrary<CanonicalRequest> = fc.record(
  {
    model: fc.string({ minLength: 1 }),
    max_tokens: fc.integer({ min: 1, max: 64000 }),
    messages: fc.array(message, { minLength: 1, maxLength: 4 }),
    system: fc.oneof(
      text,
      fc.array(fc.record({ type: fc.constant('text' as const), text }), { maxLength: 2 }),
    ),
    tools: fc.array(
      fc.record({
        name: fc.string({ minLength: 1 }),
        description: text,
        input_schema: fc.dictionary(fc.string(), fc.jsonValue()),
      }),
      { maxLength: 3 },
    ),
    temperature: fc.double({ min: 0, max: 1, noNaN: true }),
    top_p: fc.double({ min: 0, max: 1, noNaN: true }),
    top_k: fc.integer({ min: 1, max: 500 }),
    stop_sequences: fc.array(fc.string(), { maxLength: 3 }),
    thinking: fc.constantFrom(
      { type: 'enabled' as const, budget_tokens: 1024 },
      { type: 'adaptive' as const },
    ),
    tool_choice: fc.constantFrom({ type: 'auto' as const }, { type: 'any' as const }),
    output_config: fc.record({ effort: fc.constantFrom('low', 'high') }),
    stream: fc.boolean(),
    metadata: fc.record({ user_id: fc.string() }),
  },
  { requiredKeys: ['model', 'max_tokens', 'messages'] },
);

describe('canonicalJson', () => {
  it('is the sorted-key, whitespace-free JSON of the value (reference: map/join serializer)', () => {
    // Object.fromEntries cannot express the order ("" before "0"): integer-like keys always iterate first.
    const reference = (v: unknown): string =>
      Array.isArray(v)
        ? `[${v.map(reference).join(',')}]`
        : v !== null && typeof v === 'object'
          ? `{${Object.keys(v)
              .sort()
              .map((k) => `${JSON.stringify(k)}:${reference((v as Record<string, unknown>)[k])}`)
              .join(',')}}`
          : JSON.stringify(v);
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer(), (v, seed) => {
        expect(canonicalJson(v)).toBe(reference(v));
        expect(canonicalJson(shuffleKeys(v, seededRandom(seed)))).toBe(canonicalJson(v));
        expect(JSON.parse(canonicalJson(v))).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
  });

  it('drops undefined members and writes non-JSON array items as null, as JSON.stringify does', () => {
    expect(canonicalJson({ b: undefined, a: [undefined, 1.0, -0, NaN], c: { z: 1, y: 'é' } })).toBe(
      '{"a":[null,1,0,null],"c":{"y":"é","z":1}}',
    );
  });
});

describe('cacheKey', () => {
  it('gives byte-different but equal requests (key order, whitespace) one key', () => {
    fc.assert(
      fc.property(request, fc.integer(), fc.integer({ min: 0, max: 4 }), (req, seed, indent) => {
        const twin = viaText(shuffleKeys(req, seededRandom(seed)), indent) as CanonicalRequest;
        expect(cacheKey(twin, 'p,m')).toBe(cacheKey(req, 'p,m'));
      }),
    );
  });

  it('changes when any allowlisted field changes', () => {
    const fields = CACHE_KEY_FIELDS.filter((f) => f !== 'target');
    fc.assert(
      fc.property(request, fc.constantFrom(...fields), (req, field) => {
        const changed = { ...req, [field]: { changed: (req as Record<string, unknown>)[field] ?? null } };
        expect(cacheKey(changed, 'p,m')).not.toBe(cacheKey(req, 'p,m'));
        if (req[field] !== undefined) {
          const removed = { ...req, [field]: undefined };
          expect(cacheKey(removed, 'p,m')).not.toBe(cacheKey(req, 'p,m'));
        }
      }),
    );
  });

  it('changes with the target and the partition, not with stream, metadata or unknown fields', () => {
    fc.assert(
      fc.property(request, fc.boolean(), fc.string(), (req, stream, user) => {
        const key = cacheKey(req, 'p,m');
        expect(cacheKey({ ...req, stream, metadata: { user_id: user }, request_id: user }, 'p,m')).toBe(key);
        expect(cacheKey(req, 'p,m2')).not.toBe(key);
        expect(cacheKey(req, 'p,m', 'client-a')).not.toBe(key);
        expect(cacheKey(req, 'p,m', 'client-a')).not.toBe(cacheKey(req, 'p,m', 'client-b'));
      }),
    );
  });

  it('distinguishes a nudged message text (no collision through the field digests)', () => {
    const req: CanonicalRequest = {
      model: 'm',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'a'.repeat(300) }],
    };
    const nudged = { ...req, messages: [{ role: 'user' as const, content: 'a'.repeat(299) + 'b' }] };
    expect(cacheKey(nudged, 'p,m')).not.toBe(cacheKey(req, 'p,m'));
    // String content is keyed as its one-text-block form (what the OpenAI ingress produces).
    const asBlocks = req.messages.map((m) => ({ ...m, content: [{ type: 'text', text: m.content }] }));
    expect(fieldDigests(req, 'p,m').messages).toBe(sha256Hex(canonicalJson(asBlocks)));
    expect(cacheKey({ ...req, messages: asBlocks }, 'p,m')).toBe(cacheKey(req, 'p,m'));
    expect(fieldDigests(req, 'p,m').tools).toBe('absent');
  });

  it('hashes real Claude Code bodies (75–85 KB) fast enough for every turn', () => {
    const bodies = loadClaudeCodeCaptures().map((c) => c.body);
    const reparsed = bodies.map((b) => JSON.parse(JSON.stringify(b)) as CanonicalRequest);
    for (const b of bodies) {
      cacheKey(b, 'p,m');
    }
    const rounds = 60;
    const start = performance.now();
    for (let i = 0; i < rounds; i++) {
      // Fresh objects each turn, as every request is parsed anew.
      cacheKey(reparsed[i % reparsed.length], 'p,m');
    }
    const perKeyMs = (performance.now() - start) / rounds;
    // ~0.5 ms on an idle 2-core box; the bound leaves room for loaded CI machines.
    expect(perKeyMs).toBeLessThan(10);
    expect(cacheKey(reparsed[0], 'p,m')).toBe(cacheKey(bodies[0], 'p,m'));
  });
});

describe('cacheKey with the toolset intern', () => {
  /** Key and field digests of each request with the intern on (fresh) or off. */
  let internHits = 0;
  const keys = (reqs: CanonicalRequest[], on: boolean): string[] => {
    setToolsetInternEnabled(on);
    try {
      const out = reqs.map(
        (r) => `${cacheKey(r, 'p,m')} ${JSON.stringify(fieldDigests(r, 'p,m'))} ${cacheKey(r, 'p,m', 'k')}`,
      );
      internHits = toolsetInternStats().hits;
      return out;
    } finally {
      setToolsetInternEnabled(true);
    }
  };
  const fresh = (r: CanonicalRequest): CanonicalRequest => JSON.parse(JSON.stringify(r)) as CanonicalRequest;

  it('gives every request exactly the key it gets without the intern', () => {
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 4 }), fc.integer(), (reqs, seed) => {
        // Each request twice (the second from the entry), plus a key-shuffled twin of each.
        const all = [
          ...reqs,
          ...reqs.map(fresh),
          ...reqs.map((r) => shuffleKeys(r, seededRandom(seed)) as CanonicalRequest),
        ];
        expect(keys(all, true)).toEqual(keys(all, false));
      }),
    );
  });

  it('keys Claude Code bodies and near-identical toolsets as before', () => {
    const bodies = loadClaudeCodeCaptures().map((c) => c.body);
    const nudged = fresh(bodies[0]);
    const tools = nudged.tools ?? [];
    tools[0] = { ...tools[0], description: `${tools[0].description?.slice(0, -1)}!` };
    const reschema = fresh(bodies[0]);
    (reschema.tools ?? [])[1].input_schema = { type: 'object', properties: { other: { type: 'string' } } };
    const sequence = [...bodies, nudged, reschema, ...bodies.map(fresh), fresh(nudged), fresh(reschema)];
    const on = keys(sequence, true);
    expect(internHits).toBeGreaterThanOrEqual(5); // the repeats were served from the intern
    expect(on).toEqual(keys(sequence, false));
    expect(internHits).toBe(0);
    const toolsDigest = (k: string): string => (JSON.parse(k.split(' ')[1]) as { tools: string }).tools;
    expect(toolsDigest(on[3])).not.toBe(toolsDigest(on[0]));
    expect(toolsDigest(on[4])).not.toBe(toolsDigest(on[0]));
    expect(toolsDigest(on[4])).not.toBe(toolsDigest(on[3]));
    expect(toolsDigest(on[1])).toBe(toolsDigest(on[0]));
  });
});
