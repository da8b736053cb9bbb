import type { StreamEvent } from '../protocol/types';
import { EventLog, SLOW_SUBSCRIBER_EVENT, type EventLogHooks } from './event-log';
import { DIVERGED_EVENT, ResumeSink } from './resume-sink';

const delta = (i: number, text = `token-${i} `): StreamEvent => ({
  type: 'content_block_delta',
  index: 0,
  delta: { type: 'text_delta', text },
});
const sizeOf = (e: StreamEvent): number => Buffer.byteLength(JSON.stringify(e));
const noCall = (): Promise<never> => Promise.reject(new Error('not used'));

function makeLog(cap = 1_000_000, joinable = true): { log: EventLog; hooks: jest.Mocked<EventLogHooks> } {
  const hooks = { onEmpty: jest.fn(), onSlow: jest.fn(), onRetire: jest.fn() };
  return { log: new EventLog(cap, joinable, hooks), hooks };
}

async function take(it: AsyncIterator<StreamEvent>, n: number): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for (let i = 0; i < n; i++) {
    const step = await it.next();
    if (step.done) {
      break;
    }
    out.push(step.value);
  }
  return out;
}

async function rest(it: AsyncIterator<StreamEvent>): Promise<StreamEvent[]> {
  return take(it, Number.MAX_SAFE_INTEGER);
}

describe('EventLog', () => {
  it('gives every subscriber the whole log from the start, then live events, then the end', async () => {
    const { log } = makeLog();
    const early = log.subscribe(noCall, new AbortController().signal);
    log.append(delta(0), 10);
    log.append(delta(1), 10);
    const late = log.subscribe(noCall, new AbortController().signal);
    const lateRead = rest(late);
    const earlyRead = rest(early);
    log.append(delta(2), 10);
    log.finish();
    expect(await earlyRead).toEqual([delta(0), delta(1), delta(2)]);
    expect(await lateRead).toEqual([delta(0), delta(1), delta(2)]);
  });

  it('wakes waiting readers without polling and lets the source run only a few events ahead', async () => {
    const { log } = makeLog();
    const sub = log.subscribe(noCall, new AbortController().signal);
    const never = new AbortController().signal;
    await expect(log.demand(never)).resolves.toBeUndefined(); // empty log: the first event is wanted
    let appended = 0;
    for (; appended < 100; appended++) {
      let demanded = false;
      const demand = log.demand(never).then(() => (demanded = true));
      await Promise.resolve();
      if (!demanded) {
        break; // nobody reads: the source must stop here
      }
      await demand;
      log.append(delta(appended), 10);
    }
    expect(appended).toBe(16);
    const demand = log.demand(never);
    expect(await take(sub, 1)).toEqual([delta(0)]);
    await demand; // one read makes room for one more
    const rest16 = await take(sub, 15);
    expect(rest16).toHaveLength(15);
    const waiting = sub.next();
    log.append(delta(16), 10);
    expect(await waiting).toEqual({ done: false, value: delta(16) });
  });

  it('stops taking joiners as soon as the final event is in, before the source has closed', () => {
    const { log, hooks } = makeLog();
    log.subscribe(noCall, new AbortController().signal);
    log.append(delta(0), 10);
    expect(log.joinable).toBe(true);
    log.append({ type: 'message_stop' }, 20);
    expect(log.joinable).toBe(false);
    expect(hooks.onRetire).toHaveBeenCalledTimes(1);
  });

  it('calls onEmpty with the leaver’s reason only when the last subscriber leaves', () => {
    const { log, hooks } = makeLog();
    const a = new AbortController();
    const b = new AbortController();
    log.subscribe(noCall, a.signal);
    log.subscribe(noCall, b.signal);
    log.append(delta(0), 10);
    a.abort(new Error('a left'));
    expect(hooks.onEmpty).not.toHaveBeenCalled();
    b.abort(new Error('b left'));
    expect(hooks.onEmpty).toHaveBeenCalledWith(new Error('b left'));
    expect(hooks.onRetire).toHaveBeenCalledTimes(1);
  });

  it('keeps memory under the cap: stops taking joiners, trims what all have read, detaches the slow one', async () => {
    const cap = 2_000;
    const { log, hooks } = makeLog(cap);
    const fast = log.subscribe(noCall, new AbortController().signal);
    const slow = log.subscribe(noCall, new AbortController().signal);
    log.append(delta(0), sizeOf(delta(0)));
    expect(await take(slow, 1)).toEqual([delta(0)]); // then it stops reading
    let maxBytes = 0;
    let maxEvent = 0;
    const all: StreamEvent[] = [delta(0)];
    for (let i = 1; i < 500; i++) {
      const ev = delta(i);
      all.push(ev);
      maxEvent = Math.max(maxEvent, sizeOf(ev));
      log.append(ev, sizeOf(ev));
      maxBytes = Math.max(maxBytes, log.bytes);
      await take(fast, i === 1 ? 2 : 1); // the fast reader keeps up
    }
    log.finish();
    expect(maxBytes).toBeLessThanOrEqual(cap + maxEvent);
    expect(log.joinable).toBe(false);
    expect(hooks.onRetire).toHaveBeenCalledTimes(1);
    expect(hooks.onSlow).toHaveBeenCalledTimes(1);
    expect(await rest(fast)).toEqual([]);
    const slowRest = await rest(slow);
    expect(slowRest.at(-1)).toEqual(SLOW_SUBSCRIBER_EVENT);
    expect(slowRest.slice(0, -1)).toEqual(all.slice(1, 1 + slowRest.length - 1));
  });

  it('never detaches the only reader, even past the cap (that is plain backpressure)', async () => {
    const { log, hooks } = makeLog(500, false);
    const only = log.subscribe(noCall, new AbortController().signal);
    for (let i = 0; i < 100; i++) {
      log.append(delta(i), sizeOf(delta(i)));
    }
    log.finish();
    expect(hooks.onSlow).not.toHaveBeenCalled();
    expect(await rest(only)).toHaveLength(100);
  });

  it('fails pending joins with the same error before the first event, and with an error event after it', async () => {
    const before = makeLog().log;
    const err = new Error('upstream said no');
    before.subscribe(noCall, new AbortController().signal);
    before.fail(err);
    await expect(before.started).rejects.toBe(err);

    const after = makeLog().log;
    const sub = after.subscribe(noCall, new AbortController().signal);
    after.append(delta(0), 10);
    after.fail(err);
    expect(await rest(sub)).toEqual([
      delta(0),
      { type: 'error', error: { type: 'api_error', message: err.message } },
    ]);
  });
});

describe('ResumeSink (taking over from a lost leader)', () => {
  const start = (id: string): StreamEvent => ({
    type: 'message_start',
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model: 'm',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: 5,
        output_tokens: 0,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: id.length,
      },
    },
  });

  it('continues seamlessly when the replacement repeats what was already sent (ids, usage and pings aside)', async () => {
    const { log } = makeLog();
    const committed = log.subscribe(noCall, new AbortController().signal);
    const old = [start('msg_old'), { type: 'ping' } as StreamEvent, delta(0), delta(1)];
    for (const ev of old) {
      log.append(ev, 10);
    }
    expect(await take(committed, 4)).toEqual(old);
    const sink = new ResumeSink(log);
    for (const ev of [
      start('msg_new_longer'),
      delta(0),
      { type: 'ping' } as StreamEvent,
      delta(1),
      delta(2),
    ]) {
      sink.push(ev, 10);
    }
    sink.end();
    log.finish();
    expect(await rest(committed)).toEqual([delta(2)]);
  });

  it("a replacement started by a request that named the model differently still continues (egress writes each client's model)", async () => {
    const { log } = makeLog();
    const committed = log.subscribe(noCall, new AbortController().signal);
    const old = [start('msg_old'), delta(0)];
    old.forEach((ev) => log.append(ev, 10));
    expect(await take(committed, 2)).toEqual(old);
    const replacement = start('msg_new') as StreamEvent & { type: 'message_start' };
    replacement.message.model = 'another-alias';
    const sink = new ResumeSink(log);
    [replacement, delta(0), delta(1)].forEach((ev) => sink.push(ev, 10));
    sink.end();
    log.finish();
    expect(await rest(committed)).toEqual([delta(1)]);
  });

  it('cuts the log at the first difference: readers past it get an error, the others the replacement', async () => {
    const { log } = makeLog();
    const committed = log.subscribe(noCall, new AbortController().signal);
    const fresh = log.subscribe(noCall, new AbortController().signal);
    for (const ev of [start('a'), delta(0), delta(1)]) {
      log.append(ev, 10);
    }
    await take(committed, 3);
    const sink = new ResumeSink(log);
    for (const ev of [start('b'), delta(0), delta(7, 'other'), delta(8, 'words')]) {
      sink.push(ev, 10);
    }
    sink.end();
    log.finish();
    expect(await rest(committed)).toEqual([DIVERGED_EVENT]);
    expect(await rest(fresh)).toEqual([start('a'), delta(0), delta(7, 'other'), delta(8, 'words')]);
  });

  it('treats a replacement that ends inside the old log as a difference', async () => {
    const { log } = makeLog();
    const committed = log.subscribe(noCall, new AbortController().signal);
    for (const ev of [start('a'), delta(0), delta(1)]) {
      log.append(ev, 10);
    }
    await take(committed, 3);
    const sink = new ResumeSink(log);
    sink.push(start('b'), 10);
    sink.end();
    log.finish();
    expect(await rest(committed)).toEqual([DIVERGED_EVENT]);
  });
});
