import { prepareAnthropicUpstream } from './anthropic-passthrough';
import { anthropicToOpenAIRequest } from './anthropic-to-openai';
import { loadClaudeCodeCaptures } from './claude-code-fixtures.test-helpers';
import { countRequestTokens, resetTokenCounter, tokenCounterStats, warmTokenizer } from './tokens';
import { ToolNameMap } from './tool-ids';
import {
  jsonDeepEqual,
  resetToolsetIntern,
  systemBlocksOf,
  systemInternStats,
  setToolsetInternEnabled,
  stringifyWithInterned,
  toolsetInternStats,
  toolsetOf,
} from './toolset-intern';
import type { CanonicalRequest, ToolDefinition } from './types';

const captures = loadClaudeCodeCaptures();
/** A fresh copy, as every request is parsed anew. */
const fresh = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

const tool = (name: string, description: string, schema: Record<string, unknown> = {}): ToolDefinition => ({
  name,
  description,
  input_schema: { type: 'object', properties: { path: { type: 'string' } }, ...schema },
});

const request = (tools: unknown, over: Partial<CanonicalRequest> = {}): CanonicalRequest =>
  ({
    model: 'claude',
    max_tokens: 1000,
    system: 'be brief',
    messages: [{ role: 'user', content: 'hello there' }],
    tools,
    tool_choice: { type: 'auto' },
    ...over,
  }) as CanonicalRequest;

const systemBlocks = (first: string): CanonicalRequest['system'] => [
  { type: 'text', text: first },
  { type: 'text', text: `${'Long instructions. '.repeat(40)}\n`, cache_control: { type: 'ephemeral' } },
];

/** Every tools array the equivalence tests run on (each is handed to the code as a fresh copy). */
const toolsCases: Array<[string, () => CanonicalRequest]> = [
  ...captures.map((c): [string, () => CanonicalRequest] => [`Claude Code ${c.name}`, () => fresh(c.body)]),
  ['empty tools', () => request([])],
  ['absent tools', () => request(undefined)],
  ['one tool', () => request([tool('Read', 'Reads a file')])],
  ['one description char changed', () => request([tool('Read', 'Reads a filE')])],
  ['same names, other schema', () => request([tool('Read', 'Reads a file', { required: ['path'] })])],
  [
    'server tool, long name, strict',
    () =>
      request([
        { type: 'web_search_20250305', name: 'web_search', max_uses: 3 },
        { ...tool(`mcp__${'x'.repeat(80)}`, 'long'), strict: true },
        { name: 'bare' },
      ]),
  ],
  ['system blocks', () => request([tool('Read', 'r')], { system: systemBlocks('You are Claude Code.') })],
  [
    'system blocks, one char changed',
    () => request([tool('Read', 'r')], { system: systemBlocks('You are Claude CodE.') }),
  ],
  [
    'system blocks plus a hoisted system message',
    () =>
      request([tool('Read', 'r')], {
        system: systemBlocks('You are Claude Code.'),
        messages: [
          { role: 'system', content: 'mid-conversation note' },
          { role: 'user', content: 'hello there' },
        ],
      }),
  ],
  [
    'forced tool, tool_choice by name',
    () => request([tool('Read', 'r'), tool('Write', 'w')], { tool_choice: { type: 'tool', name: 'Write' } }),
  ],
];

/** Runs `fn` with the intern on (fresh) or off, restoring it on. */
function withIntern<T>(on: boolean, fn: () => T): T {
  setToolsetInternEnabled(on);
  try {
    return fn();
  } finally {
    setToolsetInternEnabled(true);
  }
}

beforeAll(() => warmTokenizer(), 60_000);

beforeEach(() => {
  resetToolsetIntern();
  resetTokenCounter();
});

describe('toolset intern: results identical with and without it', () => {
  it.each(toolsCases)('%s: token counts (cold, warm, across the sequence)', (_name, make) => {
    const sequence = [make(), make(), ...captures.map((c) => fresh(c.body)), make()];
    const count = (on: boolean): number[] =>
      withIntern(on, () => {
        resetTokenCounter();
        return sequence.map((r) => countRequestTokens(fresh(r)));
      });
    const without = count(false);
    const withIt = count(true);
    expect(withIt).toEqual(without);
  });

  it('a mixed sequence of all cases (interleaved, repeated) counts the same tokens', () => {
    const sequence = [...toolsCases, ...toolsCases.slice().reverse(), ...toolsCases].map(([, make]) =>
      make(),
    );
    const count = (on: boolean): number[] =>
      withIntern(on, () => {
        resetTokenCounter();
        const counts = sequence.map((r) => countRequestTokens(fresh(r)));
        expect(toolsetInternStats().hits > 0).toBe(on);
        return counts;
      });
    expect(count(true)).toEqual(count(false));
  });

  it.each(toolsCases)('%s: OpenAI request (body bytes and name map)', (_name, make) => {
    const convert = (on: boolean): { text: string; names: ToolNameMap; again: string } =>
      withIntern(on, () => {
        const req = make();
        const names = ToolNameMap.fromNames([]);
        const out = anthropicToOpenAIRequest(req, { model: 'up', toolNames: names, reasoning: 'openai' });
        // Twice: the second conversion is served from the entry when the intern is on.
        const again = anthropicToOpenAIRequest(make(), { model: 'up', toolNames: new ToolNameMap() });
        if (out.tools !== undefined) {
          expect(Object.isFrozen(out.tools)).toBe(on); // shared from the entry only with the intern on
          expect(again.tools === out.tools).toBe(on);
        }
        return {
          text: stringifyWithInterned({ ...out }),
          again: stringifyWithInterned({ ...again }),
          names,
        };
      });
    const without = convert(false);
    const withIt = convert(true);
    expect(withIt.text).toBe(without.text);
    expect(withIt.again).toBe(without.again);
    for (const t of make().tools ?? []) {
      const upstream = without.names.upstream(t.name);
      expect(withIt.names.upstream(t.name)).toBe(upstream);
      expect(withIt.names.original(upstream)).toBe(t.name);
    }
  });

  it.each(toolsCases)('%s: Anthropic passthrough body bytes', (_name, make) => {
    const build = (on: boolean): string[] =>
      withIntern(on, () =>
        [true, false].map((firstParty) => {
          const req = make();
          const { body } = prepareAnthropicUpstream(req, { firstParty, model: 'claude-x' });
          if (Array.isArray(req.tools)) {
            expect(body.tools === toolsetOf(req.tools)?.tools).toBe(on);
          }
          if (Array.isArray(req.system) && !req.messages.some((m) => m.role === 'system')) {
            expect(body.system === systemBlocksOf(req.system)?.value).toBe(on);
          }
          return stringifyWithInterned({ ...body, stream: false });
        }),
      );
    expect(build(true)).toEqual(build(false));
  });

  it('a request is never mutated, and a mutated request copy does not change the entry', () => {
    const req = fresh(captures[0].body);
    const before = fresh(req);
    const entry = toolsetOf(req.tools);
    anthropicToOpenAIRequest(req, { model: 'up' });
    prepareAnthropicUpstream(req, { firstParty: true, model: 'm' });
    countRequestTokens(req);
    expect(req).toEqual(before);
    expect(entry).toBeDefined();
    const other = fresh(captures[0].body);
    (other.tools as ToolDefinition[])[0].description = 'changed';
    expect(entry?.tools).toEqual(before.tools);
    expect(toolsetOf(other.tools)).not.toBe(entry);
  });
});

describe('toolset intern: lookup', () => {
  it('content-equal arrays share one deep-frozen entry; the same array is remembered', () => {
    const a = fresh(captures[0].body.tools);
    const b = fresh(captures[0].body.tools);
    const entry = toolsetOf(a);
    expect(entry).toBeDefined();
    expect(toolsetOf(b)).toBe(entry);
    expect(toolsetOf(a)).toBe(entry);
    expect(toolsetInternStats()).toMatchObject({ entries: 1, hits: 1, misses: 1 });
    expect(entry?.tools).not.toBe(a);
    expect(Object.isFrozen(entry?.tools)).toBe(true);
    expect(Object.isFrozen(entry?.tools[0].input_schema)).toBe(true);
    expect(entry?.json).toBe(JSON.stringify(a));
  });

  it('rejects fingerprint collisions by deep comparison (same count, names, lengths and node count)', () => {
    const one = [tool('Read', 'Reads a file')];
    const two = [tool('Read', 'Reads a filE')]; // one char differs, nothing else
    const three = [tool('Read', 'Reads a file', { required: ['patH'] })];
    const four = [tool('Read', 'Reads a file', { required: ['path'] })];
    const e1 = toolsetOf(one);
    const e2 = toolsetOf(two);
    expect(e1).toBeDefined();
    expect(e2).toBeDefined();
    expect(e2).not.toBe(e1);
    expect(e2?.tools).toEqual(two);
    expect(toolsetInternStats().collisions).toBe(1);
    const e3 = toolsetOf(three);
    const e4 = toolsetOf(four);
    expect(e4).not.toBe(e3);
    expect(e4?.tools).toEqual(four);
    // Both still found again, each as itself.
    expect(toolsetOf(fresh(one))).toBe(e1);
    expect(toolsetOf(fresh(two))).toBe(e2);
    expect(toolsetOf(fresh(four))).toBe(e4);
  });

  it('is key-order sensitive (so spliced JSON stays byte-identical) and type strict', () => {
    const a = [{ name: 'f', description: 'd', input_schema: { type: 'object', properties: {} } }];
    const reordered = [{ description: 'd', name: 'f', input_schema: { properties: {}, type: 'object' } }];
    expect(toolsetOf(reordered)).not.toBe(toolsetOf(a));
    expect(jsonDeepEqual({ a: 1 }, { a: '1' })).toBe(false);
    expect(jsonDeepEqual({ a: 0 }, { a: -0 })).toBe(false);
    expect(jsonDeepEqual({ a: [1] }, { a: { 0: 1 } })).toBe(false);
    expect(jsonDeepEqual({ a: undefined }, {})).toBe(false);
    expect(jsonDeepEqual({ a: null }, { a: undefined })).toBe(false);
    expect(jsonDeepEqual([{ x: [1, 'b', true, null] }], [{ x: [1, 'b', true, null] }])).toBe(true);
  });

  it('is bounded: at most 32 toolsets, least recently used evicted first', () => {
    const sets = Array.from({ length: 40 }, (_, i) => [tool(`T${i}`, `tool number ${i}`)]);
    const first = toolsetOf(sets[0]);
    for (const s of sets.slice(1)) {
      toolsetOf(s);
      toolsetOf(fresh(sets[0])); // keeps set 0 recently used
    }
    expect(toolsetInternStats().entries).toBe(32);
    expect(toolsetOf(fresh(sets[0]))).toBe(first);
    const missesBefore = toolsetInternStats().misses;
    toolsetOf(fresh(sets[1])); // evicted long ago: interned again
    expect(toolsetInternStats().misses).toBe(missesBefore + 1);
    expect(toolsetInternStats().entries).toBe(32);
  });

  it('does not intern what is not plain JSON data (the request paths compute as before)', () => {
    class Schema {
      type = 'object';
    }
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic.self = cyclic;
    for (const tools of [
      [{ name: 'f', input_schema: new Schema() }],
      [{ name: 'f', input_schema: { default: 1n } }],
      [{ name: 'f', fn: () => 1 }],
      [{ name: 'f', input_schema: { enum: [1, undefined] } }],
      [cyclic],
      ['not an object'],
      [null],
      { length: 0 },
    ]) {
      expect(toolsetOf(tools)).toBeUndefined();
    }
    expect(toolsetOf(undefined)).toBeUndefined();
    expect(toolsetInternStats().entries).toBe(0);
  });

  it('interns system block arrays the same way (a string system prompt is left alone)', () => {
    const a = fresh(captures[0].body.system);
    const entry = systemBlocksOf(a);
    expect(entry).toBeDefined();
    expect(systemBlocksOf(fresh(a))).toBe(entry);
    expect(systemBlocksOf('You are Claude Code.')).toBeUndefined();
    const nudged = fresh(a) as Array<{ text: string }>;
    nudged[0].text = `${nudged[0].text.slice(0, -1)}#`;
    expect(systemBlocksOf(nudged)).not.toBe(entry);
    expect(systemInternStats()).toMatchObject({ entries: 2, hits: 1, misses: 2, collisions: 1 });
    expect(toolsetInternStats().entries).toBe(0); // separate LRUs
  });

  it('reports intern hits as memo hits in the token counter stats', () => {
    const first = countRequestTokens(fresh(captures[0].body));
    const cold = tokenCounterStats();
    expect(countRequestTokens(fresh(captures[0].body))).toBe(first);
    const warm = tokenCounterStats();
    expect(warm.exact).toBe(cold.exact);
    expect(warm.estimated).toBe(cold.estimated);
    expect(warm.hits - cold.hits).toBeGreaterThanOrEqual(cold.exact + cold.estimated);
  });
});

describe('stringifyWithInterned', () => {
  it('is JSON.stringify byte for byte, with interned members spliced in place', () => {
    const tools = fresh(captures[0].body.tools);
    const entry = toolsetOf(tools);
    const body = { a: 1, tools: entry?.tools, skip: undefined, fn: () => 1, z: [undefined, 'é"\n'], n: null };
    expect(stringifyWithInterned(body)).toBe(JSON.stringify(body));
    expect(stringifyWithInterned({ tools: entry?.tools })).toBe(JSON.stringify({ tools }));
    // A copy (what a transformer hook works on) is serialised, never spliced from the entry.
    const copy = structuredClone(entry?.tools) as Array<Record<string, unknown>>;
    copy[0].description = 'rewritten';
    expect(stringifyWithInterned({ tools: copy })).toBe(JSON.stringify({ tools: copy }));
    expect(stringifyWithInterned({ x: tools })).toBe(JSON.stringify({ x: tools }));
  });
});
