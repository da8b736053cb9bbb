import { messageToEvents } from '../protocol/accumulate';
import type { MessageResponse, StreamEvent } from '../protocol/types';
import { RESUMED_FIELD } from '../failover/stream-resume';
import { codecFor, decodeEntry, encodeEntry, refusalReason, type CacheEntry } from './cache-entry.codec';

const STORABLE = ['end_turn', 'tool_use', 'stop_sequence', 'max_tokens'];

function answer(
  stop: MessageResponse['stop_reason'] = 'end_turn',
  text = 'Hello there. '.repeat(200),
): StreamEvent[] {
  return messageToEvents({
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'm',
    content: [
      { type: 'text', text },
      { type: 'tool_use', id: 'toolu_1', name: 'Read', input: { path: '/etc/hosts' } },
    ],
    stop_reason: stop,
    stop_sequence: null,
    usage: {
      input_tokens: 10,
      output_tokens: 20,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    },
  });
}

const compression = (over: Record<string, unknown> = {}) => ({
  enabled: true,
  threshold: 1024,
  level: 6,
  encodings: ['gzip', 'br'] as Array<'gzip' | 'br' | 'deflate'>,
  streams: false,
  ...over,
});

describe('cache entry codec', () => {
  it('picks the first br/gzip encoding and clamps the level to its range', () => {
    expect(codecFor(compression())).toEqual({ encoding: 'gzip', level: 6 });
    expect(codecFor(compression({ encodings: ['deflate', 'br'], level: 11 }))).toEqual({
      encoding: 'br',
      level: 11,
    });
    expect(codecFor(compression({ encodings: ['gzip'], level: 11 }))).toEqual({ encoding: 'gzip', level: 9 });
    expect(codecFor(compression({ encodings: ['deflate'] }))).toEqual({ encoding: 'gzip', level: 6 });
    expect(codecFor(compression({ enabled: false }))).toEqual({ encoding: 'identity', level: 0 });
  });

  it.each(['br', 'gzip', 'identity'] as const)('round-trips an event log through %s', async (encoding) => {
    const entry: CacheEntry = { v: 1, target: 'p,m', storedAt: 1234, events: answer() };
    const { data, rawBytes } = await encodeEntry(entry, { encoding, level: encoding === 'br' ? 5 : 6 });
    expect(rawBytes).toBe(Buffer.byteLength(JSON.stringify(entry)));
    if (encoding !== 'identity') {
      expect(data.length * 5).toBeLessThan(rawBytes); // repetitive text compresses well
    }
    expect(await decodeEntry(data)).toEqual(entry);
  });

  it('decodes entries written with another encoding (the tag byte says which)', async () => {
    const entry: CacheEntry = { v: 1, target: 'p,m', storedAt: 1, events: answer() };
    const br = await encodeEntry(entry, { encoding: 'br', level: 4 });
    const gz = await encodeEntry(entry, { encoding: 'gzip', level: 1 });
    expect(await decodeEntry(br.data)).toEqual(await decodeEntry(gz.data));
    await expect(decodeEntry(Buffer.from([9, 1, 2]))).rejects.toThrow(/encoding tag/);
  });
});

describe('what may be stored', () => {
  const ok = answer();
  const withPings: StreamEvent[] = [ok[0], { type: 'ping' }, ...ok.slice(1), { type: 'ping' }];

  it.each([
    ['a complete answer', ok, undefined],
    ['a complete answer with pings', withPings, undefined],
    ['tool_use stop', answer('tool_use'), undefined],
    ['max_tokens stop', answer('max_tokens'), undefined],
    ['an empty log', [], 'empty log'],
    ['a cut stream (no message_stop)', ok.slice(0, -1), 'incomplete: no message_stop'],
    ['a cut stream mid-block', [...ok.slice(0, 3), ok[ok.length - 1]], 'unterminated content block'],
    ['a log without message_start', ok.slice(1), 'does not start with message_start'],
    [
      'an error event',
      [
        ...ok.slice(0, 3),
        { type: 'error', error: { type: 'overloaded_error', message: 'x' } },
        ok[ok.length - 1],
      ],
      'error event: overloaded_error',
    ],
    ['pause_turn (a partial answer)', answer('pause_turn'), 'stop_reason pause_turn is not stored'],
    ['refusal (not configured)', answer('refusal'), 'stop_reason refusal is not stored'],
    ['no stop_reason', ok.filter((e) => e.type !== 'message_delta'), 'no stop_reason'],
    ['events after message_stop', [...ok, ok[1]], 'incomplete: no message_stop'],
    ['two message_starts', [ok[0], ...ok], 'more than one message_start'],
    [
      'a resumed answer (spliced from two upstream answers)',
      [...ok.slice(0, -1), { type: 'message_stop', [RESUMED_FIELD]: 1 }],
      'resumed answer',
    ],
  ])('%s', (_name, events, reason) => {
    expect(refusalReason(events as StreamEvent[], STORABLE)).toBe(reason);
  });
});
