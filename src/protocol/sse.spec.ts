import {
  SseLimitError,
  SseParser,
  encodeAnthropicEvent,
  encodeOpenAIData,
  encodeSseComment,
  type SseMessage,
} from './sse';
import type { StreamEvent } from './types';

const utf8 = new TextEncoder();

function parseAll(chunks: Array<string | Uint8Array>): SseMessage[] {
  const parser = new SseParser();
  const out: SseMessage[] = [];
  for (const chunk of chunks) {
    out.push(...parser.push(chunk));
  }
  out.push(...parser.end());
  return out;
}

describe('SseParser framing', () => {
  const cases: Array<{ name: string; input: string; expected: SseMessage[] }> = [
    {
      name: 'LF line endings, event field kept',
      input: 'event: message_start\ndata: {"a":1}\n\nevent: ping\ndata: {"type": "ping"}\n\n',
      expected: [
        { event: 'message_start', data: '{"a":1}' },
        { event: 'ping', data: '{"type": "ping"}' },
      ],
    },
    {
      name: 'CRLF line endings',
      input: 'event: x\r\ndata: 1\r\n\r\ndata: 2\r\n\r\n',
      expected: [{ event: 'x', data: '1' }, { data: '2' }],
    },
    {
      name: 'CR-only line endings',
      input: 'data: 1\r\rdata: 2\r\r',
      expected: [{ data: '1' }, { data: '2' }],
    },
    {
      name: 'comment lines ignored (OpenRouter keep-alive)',
      input: ': OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\ndata: {"x":1}\n\n',
      expected: [{ data: '{"x":1}' }],
    },
    {
      name: 'multi-line data joined with LF',
      input: 'data: a\ndata: b\ndata:\n\n',
      expected: [{ data: 'a\nb\n' }],
    },
    { name: 'data without the space', input: 'data:{"x":1}\n\n', expected: [{ data: '{"x":1}' }] },
    { name: 'only one leading space stripped', input: 'data:  two\n\n', expected: [{ data: ' two' }] },
    { name: 'id field', input: 'id: 7\ndata: x\n\n', expected: [{ data: 'x', id: '7' }] },
    {
      name: 'retry and unknown fields ignored',
      input: 'retry: 10\nfoo: bar\ndata: x\n\n',
      expected: [{ data: 'x' }],
    },
    {
      name: 'event without data is not dispatched',
      input: 'event: ping\n\ndata: x\n\n',
      expected: [{ data: 'x' }],
    },
    { name: 'field without colon', input: 'data\n\n', expected: [{ data: '' }] },
    {
      name: 'final event flushed by end() without blank line',
      input: 'data: [DONE]',
      expected: [{ data: '[DONE]' }],
    },
    {
      name: 'final event with one newline',
      input: 'event: e\ndata: z\n',
      expected: [{ event: 'e', data: 'z' }],
    },
    { name: 'BOM at stream start stripped', input: '\uFEFFdata: x\n\n', expected: [{ data: 'x' }] },
    {
      name: 'trailing spaces in JSON kept (parsed leniently later)',
      input: 'data: {"a":1}   \n\n',
      expected: [{ data: '{"a":1}   ' }],
    },
  ];

  it.each(cases)('$name', ({ input, expected }) => {
    expect(parseAll([input])).toEqual(expected);
    expect(parseAll([utf8.encode(input)])).toEqual(expected);
    // One character at a time exercises every line-break split, including CR | LF across pushes.
    expect(parseAll([...input])).toEqual(expected);
  });

  it('CRLF split exactly between CR and LF is one line break', () => {
    expect(parseAll(['data: 1\r', '\ndata: 2\r', '\n\r', '\n'])).toEqual([{ data: '1\n2' }]);
  });

  it('delivers events as soon as their blank line arrives', () => {
    const parser = new SseParser();
    expect(parser.push('data: a\n')).toEqual([]);
    expect(parser.push('\ndata: b')).toEqual([{ data: 'a' }]);
    expect(parser.push('\n\n')).toEqual([{ data: 'b' }]);
    expect(parser.end()).toEqual([]);
  });
});

describe('SseParser UTF-8 across chunk boundaries', () => {
  const text = 'héllo 你好世界 🎉👩‍💻 ok';
  const wire = utf8.encode(`event: t\ndata: ${text}\n\n`);

  it('every split position of a multibyte string', () => {
    for (let cut = 0; cut <= wire.length; cut++) {
      expect(parseAll([wire.subarray(0, cut), wire.subarray(cut)])).toEqual([{ event: 't', data: text }]);
    }
  });

  it('every pair of split positions', () => {
    for (let a = 0; a <= wire.length; a += 1) {
      for (let b = a; b <= wire.length; b += 3) {
        const got = parseAll([wire.subarray(0, a), wire.subarray(a, b), wire.subarray(b)]);
        expect(got).toEqual([{ event: 't', data: text }]);
      }
    }
  });

  it('byte-at-a-time feeding', () => {
    const bytes = Array.from(wire, (_, i) => wire.subarray(i, i + 1));
    expect(parseAll(bytes)).toEqual([{ event: 't', data: text }]);
  });

  it('a truncated multibyte sequence at EOF becomes U+FFFD instead of throwing', () => {
    const cut = utf8.encode('data: 你');
    expect(parseAll([cut.subarray(0, cut.length - 1)])).toEqual([{ data: '\uFFFD' }]);
  });
});

describe('SseParser on large streams', () => {
  it('a 4 MB line in 1 KB chunks stays linear', () => {
    const big = 'x'.repeat(4 * 1024 * 1024);
    const wire = utf8.encode(`data: ${big}\n\n`);
    const parser = new SseParser();
    const started = performance.now();
    const out: SseMessage[] = [];
    for (let i = 0; i < wire.length; i += 1024) {
      out.push(...parser.push(wire.subarray(i, i + 1024)));
    }
    expect(out).toHaveLength(1);
    expect(out[0].data.length).toBe(big.length);
    // Quadratic concatenation/rescanning would take minutes here; linear takes milliseconds.
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('100k small events in 64 KB chunks', () => {
    const one = 'data: {"choices":[{"delta":{"content":"ab"}}]}\n\n';
    const wire = utf8.encode(one.repeat(100_000));
    const parser = new SseParser();
    let count = 0;
    for (let i = 0; i < wire.length; i += 65536) {
      count += parser.push(wire.subarray(i, i + 65536)).length;
    }
    count += parser.end().length;
    expect(count).toBe(100_000);
  });
});

describe('SseParser buffer cap', () => {
  it('an unterminated line beyond the cap throws instead of growing', () => {
    const parser = new SseParser({ maxEventChars: 1000 });
    expect(() => {
      for (let i = 0; i < 30; i++) {
        parser.push('data: ' + 'x'.repeat(50));
      }
    }).toThrow(SseLimitError);
  });

  it('many data lines of one event count toward the cap', () => {
    const parser = new SseParser({ maxEventChars: 1000 });
    expect(() => parser.push('data: 0123456789\n'.repeat(200))).toThrow(SseLimitError);
  });

  it('the cap is per event: a long stream of small events is fine', () => {
    const parser = new SseParser({ maxEventChars: 100 });
    const out = parser.push('data: 0123456789\n\n'.repeat(10_000));
    expect(out).toHaveLength(10_000);
  });
});

describe('SSE encoders', () => {
  it('Anthropic events always carry the event line', () => {
    const ev: StreamEvent = {
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: 'a\nb' },
    };
    const wire = encodeAnthropicEvent(ev);
    expect(wire).toBe(`event: content_block_delta\ndata: ${JSON.stringify(ev)}\n\n`);
    expect(parseAll([wire])).toEqual([{ event: 'content_block_delta', data: JSON.stringify(ev) }]);
  });

  it('OpenAI data lines and [DONE]', () => {
    expect(encodeOpenAIData({ a: 1 })).toBe('data: {"a":1}\n\n');
    expect(encodeOpenAIData('[DONE]')).toBe('data: [DONE]\n\n');
  });

  it('comments cannot inject fields', () => {
    expect(encodeSseComment('ping')).toBe(': ping\n\n');
    const evil = encodeSseComment('a\ndata: injected\r\nevent: x');
    expect(evil).toBe(': a\n: data: injected\n: event: x\n\n');
    expect(parseAll([evil])).toEqual([]);
  });
});
