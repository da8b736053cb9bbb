import type { RequestOutcome } from '../common/request-outcome';
import { diffSides, primarySide } from './shadow-compare';

const outcome = (over: Partial<RequestOutcome> = {}): RequestOutcome => ({
  startedAt: 0,
  requestId: 'r1',
  route: 'messages',
  status: 200,
  stream: false,
  attempts: 1,
  failovers: 0,
  durationMs: 120,
  ttfbMs: 120,
  target: 'openai,gpt-fake',
  usage: { input_tokens: 10, output_tokens: 20, cache_read_input_tokens: 5 },
  ...over,
});

describe('primarySide', () => {
  it('takes times, tokens, stop reason and text from what was sent', () => {
    const side = primarySide(outcome({ cache: 'HIT' }), {
      ttfbMs: 30,
      durationMs: 80,
      inputTokens: 15,
      outputTokens: 20,
      stopReason: 'end_turn',
      textHash: 'abc',
      complete: true,
    });
    expect(side).toEqual({
      target: 'openai,gpt-fake',
      outcome: 'ok',
      status: 200,
      ttfbMs: 30,
      durationMs: 80,
      inputTokens: 15,
      outputTokens: 20,
      stopReason: 'end_turn',
      textHash: 'abc',
      cache: true,
    });
  });

  it('a primary that failed before answering: its outcome stands in', () => {
    const side = primarySide(
      outcome({ status: 503, errorType: 'overloaded_error', usage: undefined }),
      undefined,
    );
    expect(side).toMatchObject({ outcome: 'error', status: 503, error: 'overloaded_error', durationMs: 120 });
    expect(side.outputTokens).toBeUndefined();
    expect(primarySide(outcome({ status: 499, errorType: 'client_abort' }), undefined).outcome).toBe(
      'aborted',
    );
    expect(primarySide(outcome(), undefined)).toMatchObject({ inputTokens: 15, outputTokens: 20 });
  });
});

describe('diffSides', () => {
  it('is the copy minus the primary', () => {
    const d = diffSides(
      {
        outcome: 'ok',
        status: 200,
        ttfbMs: 10,
        durationMs: 100,
        outputTokens: 20,
        stopReason: 'end_turn',
        textHash: 'a',
      },
      {
        outcome: 'ok',
        status: 200,
        ttfbMs: 25.5,
        durationMs: 60,
        outputTokens: 24,
        stopReason: 'end_turn',
        textHash: 'b',
      },
    );
    expect(d).toEqual({
      ttfbMs: 15.5,
      durationMs: -40,
      outputTokens: 4,
      sameOutcome: true,
      sameStopReason: true,
      sameText: false,
    });
  });

  it('leaves a difference out when a side has no value', () => {
    const d = diffSides({ outcome: 'ok', status: 200, ttfbMs: 10 }, { outcome: 'timeout', status: 504 });
    expect(d).toMatchObject({
      ttfbMs: undefined,
      durationMs: undefined,
      outputTokens: undefined,
      sameOutcome: false,
    });
  });
});
