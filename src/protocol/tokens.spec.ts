import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import { loadClaudeCodeCaptures } from './claude-code-fixtures.test-helpers';
import { estimateTokens } from './token-estimate';
import { TokenMemo } from './token-memo';
import {
  countRequestTokens,
  countTextTokens,
  resetTokenCounter,
  tokenCounterStats,
  warmTokenizer,
} from './tokens';
import type { CanonicalRequest } from './types';

const captures = loadClaudeCodeCaptures();
/** An independent encoder to compare against (built once: ~1 s). */
let referenceEncoder: Tiktoken | undefined;
const reference = (): Tiktoken => (referenceEncoder ??= new Tiktoken(cl100k));
const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** A ~400 KB Claude Code-like body: the fixture plus a long session of small turns and one big file read. */
function syntheticBody(seed: number): CanonicalRequest {
  const words =
    'the gateway routes each request to a provider then streams tokens back while counting usage'.split(' ');
  const text = (n: number, k0: number): string => {
    let s = '';
    for (let k = k0; s.length < n; k = (k * 7 + 3) % 100003) {
      s += words[k % words.length] + (k % 13 === 0 ? '.\n' : ' ');
    }
    return s.slice(0, n);
  };
  const body = copy(captures[0].body);
  for (let i = 0; i < 200; i++) {
    body.messages.push({
      role: i % 2 ? 'assistant' : 'user',
      content: [{ type: 'text', text: text(1200, seed + i) }],
    });
  }
  body.messages.push({ role: 'user', content: [{ type: 'text', text: text(80_000, seed) }] });
  return body;
}

// Timings live in the overhead benchmark (bench/lib/tokens.ts), not in tests.
beforeAll(() => warmTokenizer(), 60_000);

beforeEach(() => resetTokenCounter());

describe('countRequestTokens', () => {
  it.each(captures.map((c) => [c.name, c] as const))(
    'golden 14: %s counts > 0, in a sane range, second time from the memo',
    (name, capture) => {
      const first = copy(capture.body);
      const second = copy(capture.body);
      const cold = countRequestTokens(first);
      const afterCold = tokenCounterStats();
      const warm = countRequestTokens(second);

      // cl100k puts the 76 KB body at ~13.2 k tokens; the count adds framing and may estimate parts.
      expect(cold).toBeGreaterThan(10_000);
      expect(cold).toBeLessThan(17_000);
      expect(warm).toBe(cold);
      const afterWarm = tokenCounterStats();
      expect(afterWarm.exact).toBe(afterCold.exact);
      expect(afterWarm.estimated).toBe(afterCold.estimated);
      expect(afterWarm.hits - afterCold.hits).toBeGreaterThanOrEqual(afterCold.exact + afterCold.estimated);
    },
  );

  it('counts a synthetic 400 KB body, the same both times', () => {
    const body = syntheticBody(1);
    const again = copy(body);
    const cold = countRequestTokens(body);
    expect(countRequestTokens(again)).toBe(cold);
    expect(cold).toBeGreaterThan(60_000);
  });

  it('counts every kind of block and tolerates odd shapes', () => {
    const req = {
      system: [{ type: 'text', text: 'be brief' }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'url', url: 'https://x' } },
            { type: 'document', source: { type: 'text', data: 'doc text' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'hmm', signature: 's' },
            { type: 'tool_use', id: 't', name: 'f', input: { a: 1 } },
          ],
        },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'ok' }] }],
        },
        { role: 'user', content: [{ type: 'web_search_tool_result', content: [] }, null, 42] },
        { role: 'user' },
      ],
      tools: [
        { name: 'f', description: 'does f', input_schema: { type: 'object' } },
        { type: 'web_search_20250305', name: 'web_search' },
      ],
      tool_choice: { type: 'auto' },
    } as unknown as CanonicalRequest;
    expect(countRequestTokens(req)).toBeGreaterThan(1600);
    expect(countRequestTokens({ messages: 'nope' } as unknown as CanonicalRequest)).toBeGreaterThan(0);
  });
});

describe('countTextTokens', () => {
  it('matches cl100k exactly for short strings and never throws on special tokens', () => {
    for (const text of [
      'Hello, world!',
      'const x = getUserById(42);',
      'Grüße aus Köln 🚀',
      '任务完成了吗？',
    ]) {
      expect(countTextTokens(text)).toBe(reference().encode(text).length);
    }
    expect(countTextTokens('before <|endoftext|> after')).toBeGreaterThan(3);
    expect(countTextTokens('')).toBe(0);
  });

  it('does not feed pathological runs to BPE (20 KB of one letter would take ~80 s)', () => {
    const start = performance.now();
    expect(countTextTokens('a'.repeat(1000))).toBeGreaterThan(0);
    expect(countTextTokens('='.repeat(2000) + 'x'.repeat(20_000))).toBeGreaterThan(0);
    expect(performance.now() - start).toBeLessThan(1000);
  });
});

describe('estimateTokens', () => {
  it('stays within ±20% of cl100k on the Claude Code system prompt, tool descriptions and schemas', () => {
    const body = captures[0].body;
    const samples = [
      (body.system as Array<{ text: string }>).map((b) => b.text).join('\n'),
      (body.tools ?? []).map((t) => t.description ?? '').join('\n'),
      JSON.stringify((body.tools ?? []).map((t) => t.input_schema)),
      'export function countTextTokens(text: string): number {\n  return typeof text === "string" ? 1 : 0;\n}\n'.repeat(
        20,
      ),
    ];
    for (const sample of samples) {
      const ratio = estimateTokens(sample) / reference().encode(sample).length;
      expect(ratio).toBeGreaterThan(0.8);
      expect(ratio).toBeLessThan(1.2);
    }
  });
});

describe('TokenMemo', () => {
  it('holds its entry and character caps, evicting least recently used first', () => {
    const memo = new TokenMemo(3, 100);
    memo.set('a', { tokens: 1, exact: true });
    memo.set('b', { tokens: 1, exact: true });
    memo.set('c', { tokens: 1, exact: true });
    memo.get('a');
    memo.set('d', { tokens: 1, exact: true });
    expect(memo.size).toBe(3);
    expect(memo.get('b')).toBeUndefined();
    expect(memo.get('a')).toBeDefined();

    memo.set('x'.repeat(24), { tokens: 5, exact: false });
    memo.set('y'.repeat(24), { tokens: 5, exact: false });
    memo.set('z'.repeat(24), { tokens: 5, exact: false });
    memo.set('w'.repeat(24), { tokens: 5, exact: false });
    expect(memo.totalChars).toBeLessThanOrEqual(100);
    expect(memo.size).toBeLessThanOrEqual(3);

    memo.set('q'.repeat(26), { tokens: 9, exact: false });
    expect(memo.get('q'.repeat(26))).toBeUndefined();
  });
});
