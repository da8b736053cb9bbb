import { SLOW_SUBSCRIBER_EVENT } from '../dedup/event-log';
import { rememberAttempts, type AttemptRecord } from '../failover/failover.types';
import { GatewayError } from '../protocol/errors';
import { ProviderError } from '../providers/provider.types';
import {
  MAX_CLIENT_MODEL_CHARS,
  answeredOutcome,
  callsMade,
  errorSourceOf,
  failedOutcome,
  failoversOf,
  outcomeRoute,
  streamErrorSource,
} from './outcome-builder';
import type { RequestObservation } from './request-observation';

const obs = (o: Partial<RequestObservation> = {}): RequestObservation => ({
  receivedAt: 1000,
  receivedWallMs: 1_700_000_000_000,
  ...o,
});
const common = { requestId: 'req-1', route: 'messages' as const, stream: true, clientModel: 'claude-x' };

describe('RequestOutcome building', () => {
  it('only POST /v1/messages and /v1/chat/completions produce outcomes', () => {
    expect(outcomeRoute('POST', '/v1/messages')).toBe('messages');
    expect(outcomeRoute('POST', '/v1/messages?beta=true')).toBe('messages');
    expect(outcomeRoute('POST', '/v1/chat/completions')).toBe('chat_completions');
    expect(outcomeRoute('POST', '/v1/messages/count_tokens')).toBeUndefined();
    expect(outcomeRoute('POST', '/v1/messages/batches')).toBeUndefined();
    expect(outcomeRoute('GET', '/v1/messages')).toBeUndefined();
    expect(outcomeRoute('GET', '/metrics')).toBeUndefined();
  });

  it('keeps at most MAX_CLIENT_MODEL_CHARS of the client model (a refused request may send megabytes)', () => {
    const refused = (clientModel: string) =>
      failedOutcome({
        ...common,
        clientModel,
        obs: obs(),
        err: new GatewayError(401, 'Invalid API key', { type: 'authentication_error' }),
        status: 401,
        clientGone: false,
        headersSent: false,
      }).clientModel;
    const kept = refused('m'.repeat(5_000_000));
    expect(kept).toHaveLength(MAX_CLIENT_MODEL_CHARS);
    expect(kept?.endsWith('…')).toBe(true);
    const exact = 'c'.repeat(MAX_CLIENT_MODEL_CHARS);
    expect(refused(exact)).toBe(exact);
  });

  it('calls and failovers from the attempt log (skips are moves, not calls; a lost hedge is a call, not a move)', () => {
    const log: AttemptRecord[] = [
      { target: 'a,m', outcome: 'skipped', reason: 'open', ms: 0 },
      { target: 'b,m', outcome: 'failed', reason: 'http_503', status: 503, ms: 40 },
      { target: 'c,m', outcome: 'failed', reason: 'hedge_lost', ms: 90 },
      { target: 'd,m', outcome: 'ok', ms: 80 },
    ];
    expect(callsMade(log)).toBe(3);
    expect(failoversOf(log)).toBe(2);
  });

  it.each([
    ['upstream 503', new ProviderError('x', { status: 503, kind: 'http' }), 503, 'upstream'],
    ['upstream 429', new ProviderError('x', { status: 429, kind: 'http' }), 429, 'upstream'],
    ['upstream 401 (our key)', new ProviderError('x', { status: 401, kind: 'http' }), 401, 'upstream'],
    ['upstream 400 (the request)', new ProviderError('x', { status: 400, kind: 'http' }), 400, 'client'],
    ['upstream timeout', new ProviderError('x', { status: 504, kind: 'timeout' }), 504, 'upstream'],
    ['client abort', new ProviderError('x', { status: 499, kind: 'abort' }), 499, 'client'],
    ['validation', new GatewayError(400, 'bad'), 400, 'client'],
    ['client rate limit', new GatewayError(429, 'slow down', { type: 'rate_limit_error' }), 429, 'client'],
    ['upstream ended', new GatewayError(502, 'upstream x ended without answering'), 502, 'upstream'],
    ['queue wait', new GatewayError(503, 'the interactive queue did not start this request'), 503, 'gateway'],
    ['no route', new GatewayError(503, 'No route: configure Providers'), 503, 'gateway'],
    ['a bug', new TypeError('boom'), 500, 'gateway'],
    [
      'a conversion bug (own failure)',
      new ProviderError('p,m: internal error converting the request', {
        status: 500,
        kind: 'protocol',
        retryable: false,
      }),
      500,
      'gateway',
    ],
    ['upstream invalid JSON', new ProviderError('x', { status: 502, kind: 'protocol' }), 502, 'upstream'],
  ])('blame: %s', (_name, err, status, source) => {
    expect(errorSourceOf(err, status, false)).toBe(source);
  });

  it('blame: every target unavailable is the upstream side (the attempts say so); after the answer opened, upstream', () => {
    const err = new GatewayError(503, 'All upstream targets are unavailable right now', {
      type: 'overloaded_error',
    });
    rememberAttempts(err, [{ target: 'a,m', outcome: 'skipped', reason: 'open', ms: 0 }]);
    expect(errorSourceOf(err, 503, false)).toBe('upstream');
    expect(errorSourceOf(new GatewayError(400, 'x'), 400, true)).toBe('upstream');
    expect(streamErrorSource(SLOW_SUBSCRIBER_EVENT.error)).toBe('client');
    expect(streamErrorSource({ type: 'timeout_error', message: 'idle' })).toBe('upstream');
  });

  it('an answered stream: TTFB at the first event, upstream time without the queue wait', () => {
    const o = answeredOutcome(
      {
        ...common,
        obs: obs({
          queueClass: 'interactive',
          queueWaitMs: 5,
          upstreamStartedAt: 1010,
          answeredAt: 1100,
          lastEventAt: 1400,
          usage: {
            input_tokens: 3,
            output_tokens: 4,
            cache_read_input_tokens: 0,
            cache_creation_input_tokens: 0,
            extra: 'x',
          },
        }),
        scenario: 'default',
        target: 'p,m',
        cache: 'MISS',
        dedup: 'leader',
        attempts: [{ target: 'p,m', outcome: 'ok', ms: 80 }],
        streamed: { clientClosed: false },
      },
      1450,
    );
    expect(o).toEqual({
      startedAt: 1_700_000_000_000,
      requestId: 'req-1',
      route: 'messages',
      clientModel: 'claude-x',
      stream: true,
      scenario: 'default',
      target: 'p,m',
      status: 200,
      cache: 'MISS',
      dedup: 'leader',
      attempts: 1,
      failovers: 0,
      queueClass: 'interactive',
      queueWaitMs: 5,
      ttfbMs: 100,
      durationMs: 450,
      upstreamMs: 385,
      usage: {
        input_tokens: 3,
        output_tokens: 4,
        cache_read_input_tokens: 0,
        cache_creation_input_tokens: 0,
      },
    });
  });

  it('a stream the client left, one that ended with an error event, a JSON answer (TTFB = duration)', () => {
    const answered = {
      ...common,
      scenario: 'default',
      target: 'p,m',
      cache: 'MISS' as const,
      dedup: undefined,
      attempts: [],
    };
    expect(
      answeredOutcome(
        { ...answered, obs: obs({ answeredAt: 1100 }), streamed: { clientClosed: true } },
        1200,
      ),
    ).toMatchObject({
      status: 200,
      errorType: 'client_abort',
      errorSource: 'client',
    });
    expect(
      answeredOutcome(
        {
          ...answered,
          obs: obs({ answeredAt: 1100 }),
          streamed: { clientClosed: false, error: { error: { type: 'timeout_error', message: 'idle' } } },
        },
        1200,
      ),
    ).toMatchObject({ status: 200, errorType: 'timeout_error', errorSource: 'upstream' });
    const json = answeredOutcome({ ...answered, stream: false, obs: obs({ answeredAt: 1100 }) }, 1300);
    expect(json.ttfbMs).toBe(300);
    expect(json.errorType).toBeUndefined();
    expect(json.upstreamMs).toBeUndefined(); // no upstream call of its own (cache hit, follower)
  });

  it('failures: status, type and blame; a stream already under way keeps its 200; a client gone is an abort', () => {
    const err = new ProviderError('boom', { status: 503, kind: 'http' });
    rememberAttempts(err, [
      { target: 'a,m', outcome: 'failed', reason: 'http_503', status: 503, ms: 10 },
      { target: 'b,m', outcome: 'failed', reason: 'http_503', status: 503, ms: 10 },
    ]);
    const f = failedOutcome(
      {
        ...common,
        obs: obs({ upstreamStartedAt: 1002 }),
        err,
        status: 503,
        clientGone: false,
        headersSent: false,
        target: 'a,m',
      },
      1050,
    );
    expect(f).toMatchObject({
      status: 503,
      errorType: 'overloaded_error',
      errorSource: 'upstream',
      attempts: 2,
      failovers: 2,
      durationMs: 50,
      ttfbMs: 50,
      upstreamMs: 48,
    });
    expect(
      failedOutcome({ ...common, obs: obs(), err, status: 503, clientGone: true, headersSent: false }, 1050),
    ).toMatchObject({
      status: 499,
      errorType: 'client_abort',
      errorSource: 'client',
    });
    expect(
      failedOutcome(
        {
          ...common,
          obs: obs({ answeredAt: 1010 }),
          err: new TypeError('x'),
          status: 500,
          clientGone: false,
          headersSent: true,
        },
        1050,
      ),
    ).toMatchObject({ status: 200, ttfbMs: 10, errorSource: 'upstream' });
    expect(
      failedOutcome(
        {
          ...common,
          obs: obs(),
          err: new GatewayError(429, 'limit', { type: 'rate_limit_error' }),
          status: 429,
          clientGone: false,
          headersSent: false,
        },
        1001,
      ),
    ).toMatchObject({ status: 429, errorType: 'rate_limit_error', errorSource: 'client', attempts: 0 });
  });
});
