import { rememberAttempts } from '../failover/failover.types';
import type { GatewayAnswer } from '../gateway/gateway.service';
import { GatewayError } from '../protocol/errors';
import type { StreamEvent } from '../protocol/types';
import type { RoutedRequest } from '../routing/routing.service';
import { ShadowAbort, ShadowDropError, runCopy } from './shadow-copy';
import { answerEvents } from './shadow.test-helpers';

/** An answer over `events`; after them it hangs when `hang` (until returned). */
function answerOf(events: StreamEvent[], opts: { hang?: boolean } = {}) {
  const state = { returned: false };
  let i = 1;
  const iterator: AsyncIterator<StreamEvent> = {
    next: () => {
      if (i < events.length) {
        return Promise.resolve({ done: false, value: events[i++] });
      }
      if (opts.hang && !state.returned) {
        return new Promise(() => undefined);
      }
      return Promise.resolve({ done: true, value: undefined });
    },
    return: () => {
      state.returned = true;
      return Promise.resolve({ done: true, value: undefined });
    },
  };
  const answer: GatewayAnswer = {
    route: { scenario: 'default', target: 'shadow,m', fallbacks: [] } as unknown as RoutedRequest,
    target: 'shadow,m',
    head: [events[0]],
    events: iterator,
    cache: 'MISS',
    attempts: [],
  };
  return { answer, state };
}

const until = async (check: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) {
      throw new Error('condition not met');
    }
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('runCopy', () => {
  it('reads a complete answer into the copy side', async () => {
    const { answer } = answerOf(answerEvents(['Hi', ' there'], { output: 9 }));
    const end = await runCopy(() => Promise.resolve(answer), performance.now(), new AbortController().signal);
    expect(end).toMatchObject({
      kind: 'ended',
      result: 'completed',
      side: {
        target: 'shadow,m',
        outcome: 'ok',
        status: 200,
        outputTokens: 9,
        stopReason: 'end_turn',
        cache: false,
      },
    });
    if (end.kind === 'ended') {
      expect(end.side.textHash).toMatch(/^[0-9a-f]{16}$/);
      expect(end.side.error).toBeUndefined();
    }
  });

  it('an answer ending in an error event is a failed copy', async () => {
    const events = [
      ...answerEvents(['x']).slice(0, 3),
      { type: 'error', error: { type: 'api_error', message: 'cut' } },
    ];
    const { answer } = answerOf(events as StreamEvent[]);
    const end = await runCopy(() => Promise.resolve(answer), 0, new AbortController().signal);
    expect(end).toMatchObject({
      kind: 'ended',
      result: 'failed',
      side: { outcome: 'error', error: 'api_error: cut' },
    });
  });

  it('a refused copy is failed with the status it got', async () => {
    const end = await runCopy(
      () => Promise.reject(new GatewayError(529, 'busy', { type: 'overloaded_error' })),
      0,
      new AbortController().signal,
    );
    expect(end).toMatchObject({
      kind: 'ended',
      result: 'failed',
      side: { outcome: 'error', status: 529, error: 'overloaded_error: busy' },
    });
  });

  it('a copy dropped at its route, or skipped at every target, is a drop', async () => {
    const signal = new AbortController().signal;
    expect(await runCopy(() => Promise.reject(new ShadowDropError('circuit_open')), 0, signal)).toEqual({
      kind: 'dropped',
      reason: 'circuit_open',
    });
    const err = new GatewayError(503, 'All upstream targets are unavailable');
    rememberAttempts(err, [{ target: 'shadow,m', outcome: 'skipped', reason: 'saturated', ms: 50 }]);
    expect(await runCopy(() => Promise.reject(err), 0, signal)).toEqual({
      kind: 'dropped',
      reason: 'saturated',
    });
  });

  it('times out mid-answer: abandoned, its events released', async () => {
    const { answer, state } = answerOf(answerEvents(['slow']).slice(0, 3), { hang: true });
    const ac = new AbortController();
    const running = runCopy(() => Promise.resolve(answer), performance.now(), ac.signal);
    setTimeout(() => ac.abort(new ShadowAbort('timeout')), 20);
    const end = await running;
    expect(end).toMatchObject({
      kind: 'ended',
      result: 'timed_out',
      side: { outcome: 'timeout', status: 504 },
    });
    await until(() => state.returned);
  });

  it('times out before opening: an answer that opens later is released at once', async () => {
    const { answer, state } = answerOf(answerEvents(['late']));
    let open!: (a: GatewayAnswer) => void;
    const ac = new AbortController();
    const running = runCopy(() => new Promise<GatewayAnswer>((r) => (open = r)), 0, ac.signal);
    ac.abort(new ShadowAbort('timeout'));
    expect(await running).toMatchObject({ kind: 'ended', result: 'timed_out' });
    open(answer);
    await until(() => state.returned);
  });

  it('aborted on shutdown: dropped, not compared', async () => {
    const { answer } = answerOf(answerEvents(['x']).slice(0, 2), { hang: true });
    const ac = new AbortController();
    const running = runCopy(() => Promise.resolve(answer), 0, ac.signal);
    ac.abort(new ShadowAbort('shutdown'));
    expect(await running).toEqual({ kind: 'dropped', reason: 'shutdown' });
  });
});
