import { messageToEvents } from '../protocol/accumulate';
import type { StreamEvent } from '../protocol/types';
import { CacheRecorder, replayEvents } from './cache-recorder';

const events = messageToEvents({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'm',
  content: [{ type: 'text', text: 'hi' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 1, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
});

async function* source(list: StreamEvent[], failAt?: number): AsyncGenerator<StreamEvent> {
  for (let i = 0; i < list.length; i++) {
    if (i === failAt) {
      throw new Error('upstream cut');
    }
    yield list[i];
  }
}

const tick = () => new Promise((r) => setImmediate(r));

describe('CacheRecorder', () => {
  it('hands over the whole log when the stream ends normally', async () => {
    const stored: StreamEvent[][] = [];
    const rec = new CacheRecorder(async (e) => (stored.push(e), true));
    const seen: StreamEvent[] = [];
    for await (const ev of rec.tap(source(events))) {
      seen.push(ev);
    }
    await tick();
    expect(seen).toEqual(events);
    expect(stored).toEqual([events]);
  });

  it('stores nothing when the client stops reading or the upstream fails', async () => {
    const stored: StreamEvent[][] = [];
    const rec = new CacheRecorder(async (e) => (stored.push(e), true));
    for await (const ev of rec.tap(source(events))) {
      if (ev.type === 'content_block_delta') {
        break; // client went away
      }
    }
    const failing = new CacheRecorder(async (e) => (stored.push(e), true));
    await expect(async () => {
      for await (const _ of failing.tap(source(events, 3))) {
        // drain
      }
    }).rejects.toThrow('upstream cut');
    await tick();
    expect(stored).toEqual([]);
  });

  it('stores once message_stop went by, even if the writer stops pulling right after it', async () => {
    const stored: StreamEvent[][] = [];
    const rec = new CacheRecorder(async (e) => (stored.push(e), true));
    for await (const ev of rec.tap(source(events))) {
      if (ev.type === 'message_stop') {
        break;
      }
    }
    await tick();
    expect(stored).toEqual([events]);
    expect(await rec.finish()).toBe(false); // once only
  });

  it('gives up recording (bounded memory) past its byte budget', async () => {
    const rec = new CacheRecorder(async () => true, 300);
    rec.push(...events);
    expect(await rec.finish()).toBe(false);
  });

  it('accepts an AsyncIterator (the gateway head/iterator shape) and never rejects', async () => {
    const rec = new CacheRecorder(async () => {
      throw new Error('boom');
    });
    rec.push(events[0]);
    const rest: StreamEvent[] = [];
    for await (const ev of rec.tap(source(events.slice(1))[Symbol.asyncIterator]())) {
      rest.push(ev);
    }
    expect(rest).toHaveLength(events.length - 1);
    await expect(rec.finish()).resolves.toBe(false);
  });
});

describe('replayEvents', () => {
  it('replays at once, or paced between content deltas', async () => {
    const all: StreamEvent[] = [];
    for await (const ev of replayEvents(events, 0)) {
      all.push(ev);
    }
    expect(all).toEqual(events);
    const start = Date.now();
    const paced: StreamEvent[] = [];
    for await (const ev of replayEvents(events, 30)) {
      paced.push(ev);
    }
    expect(Date.now() - start).toBeGreaterThanOrEqual(25);
    const ac = new AbortController();
    ac.abort();
    const none: StreamEvent[] = [];
    for await (const ev of replayEvents(events, 0, ac.signal)) {
      none.push(ev);
    }
    expect(none).toEqual([]);
  });
});
