import type { PinoLogger } from 'nestjs-pino';
import { ProviderError } from '../providers/provider.types';
import { streamGrammarViolations } from '../protocol/stream-grammar';
import type { CanonicalRequest, StreamEvent } from '../protocol/types';
import { FailoverCounters } from './failover-counters';
import { rememberAttempts, type FailoverResult } from './failover.types';
import { ResumingStream, type ResumeHooks } from './resuming-stream';
import { RESUMED_FIELD } from './stream-resume';

const request: CanonicalRequest = {
  model: 'client-model',
  max_tokens: 200,
  stream: true,
  messages: [{ role: 'user', content: 'Count to five' }],
};

const start: StreamEvent = {
  type: 'message_start',
  message: {
    id: 'msg',
    type: 'message',
    role: 'assistant',
    model: 'client-model',
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 40, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
  },
};
const textStart: StreamEvent = {
  type: 'content_block_start',
  index: 0,
  content_block: { type: 'text', text: '' },
};
const text = (t: string, index = 0): StreamEvent => ({
  type: 'content_block_delta',
  index,
  delta: { type: 'text_delta', text: t },
});
const cut: StreamEvent = {
  type: 'error',
  error: { type: 'api_error', message: 'upstream stream ended before message_stop' },
};
const end = (output: number): StreamEvent[] => [
  { type: 'content_block_stop', index: 0 },
  {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: output },
  },
  { type: 'message_stop' },
];
const DONE = { done: true, value: undefined } as const;

/** A committed answer as FailoverService.execute returns it: the first event in head, the rest after it. */
function answer(target: string, events: StreamEvent[], expiresInMs = 60_000): FailoverResult {
  const [head, ...rest] = events;
  let i = 0;
  return {
    target,
    head: [head],
    events: {
      next: () => Promise.resolve(i < rest.length ? { done: false, value: rest[i++] } : DONE),
      return: () => Promise.resolve(DONE),
    },
    attempts: [{ target, outcome: 'ok', ms: 5 }],
    expiresAt: performance.now() + expiresInMs,
  };
}

type TestLogger = PinoLogger & { lines: [string, unknown][] };

function testLogger(): TestLogger {
  const lines: [string, unknown][] = [];
  const log = (obj: unknown, msg: string): void => {
    lines.push([msg, obj]);
  };
  return { lines, info: log, warn: log } as unknown as TestLogger;
}

async function drain(stream: ResumingStream, head: StreamEvent[]): Promise<StreamEvent[]> {
  const out = [...head];
  for (let r = await stream.next(); !r.done; r = await stream.next()) {
    out.push(r.value);
  }
  return out;
}

const textOf = (events: StreamEvent[]): string =>
  events
    .map((e) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : ''))
    .join('');

function setup(opts: {
  first: FailoverResult;
  continuations: Array<FailoverResult | Error | Promise<FailoverResult>>;
  chain?: string[];
  maxResumes?: number;
}) {
  const counters = new FailoverCounters();
  const log = testLogger();
  const calls: { request: CanonicalRequest; exclude: string[]; signal: AbortSignal }[] = [];
  const chain = opts.chain ?? ['a,m', 'b,m', 'c,m'];
  const hooks: ResumeHooks = {
    continueWith: (req, exclude, signal) => {
      calls.push({ request: req, exclude: [...exclude], signal });
      const next = opts.continuations.shift();
      return next instanceof Error || next === undefined
        ? Promise.reject(next ?? new Error('no continuation'))
        : Promise.resolve(next);
    },
    targetsLeft: (exclude) => chain.filter((t) => !exclude.has(t)).length,
    counters,
    logger: log,
  };
  const stream = new ResumingStream(
    opts.first,
    {
      settings: { enabled: true, maxResumes: opts.maxResumes ?? 1 },
      request,
      signal: new AbortController().signal,
    },
    hooks,
  );
  return { stream, counters, log, calls };
}

const logged = (log: TestLogger, msg: string): unknown => log.lines.find(([m]) => m === msg)?.[1];

describe('ResumingStream', () => {
  it('splices the continuation of a cut answer into one well-formed message', async () => {
    const first = answer('a,m', [start, textStart, text('One, two, '), text('three'), cut]);
    const second = answer('b,m', [start, textStart, text(', four, five.'), ...end(6)]);
    let released = false;
    first.events.return = () => {
      released = true;
      return Promise.resolve(DONE);
    };
    const { stream, counters, log, calls } = setup({ first, continuations: [second] });
    const out = await drain(stream, first.head);
    expect(released).toBe(true); // the broken answer's slot and socket are given back

    expect(streamGrammarViolations(out, { complete: true })).toEqual([]);
    expect(textOf(out)).toBe('One, two, three, four, five.');
    expect(out.some((e) => e.type === 'error')).toBe(false);
    expect(out[out.length - 1]).toEqual({ type: 'message_stop', [RESUMED_FIELD]: 1 });
    expect(calls).toHaveLength(1);
    expect(calls[0].exclude).toEqual(['a,m']);
    expect(calls[0].request.messages[1]).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: 'One, two, three' }],
    });
    expect(first.attempts).toEqual([
      { target: 'a,m', outcome: 'failed', reason: 'mid_stream', ms: 5 },
      { target: 'b,m', outcome: 'ok', ms: 5 },
    ]);
    expect(counters.labelled('stream_resumes')).toEqual([{ labels: { outcome: 'resumed' }, value: 1 }]);
    expect(counters.get('attempts{outcome=failed,reason=mid_stream}')).toBe(1);
    expect(counters.failoverCounts()).toEqual([{ from: 'a,m', to: 'b,m', reason: 'mid_stream', count: 1 }]);
    expect(logged(log, 'stream resumed')).toMatchObject({
      from: 'a,m',
      to: 'b,m',
      reason: 'api_error',
      chars: 'One, two, three'.length,
    });
  });

  it('resumes again when the continuation breaks too, up to maxResumes, without the targets that broke', async () => {
    const first = answer('a,m', [start, textStart, text('One'), cut]);
    const second = answer('b,m', [start, textStart, text(' two'), cut]);
    const third = answer('c,m', [start, textStart, text(' three'), ...end(2)]);
    const { stream, calls, counters } = setup({ first, continuations: [second, third], maxResumes: 2 });
    const out = await drain(stream, first.head);
    expect(streamGrammarViolations(out, { complete: true })).toEqual([]);
    expect(textOf(out)).toBe('One two three');
    expect(calls.map((c) => c.exclude)).toEqual([['a,m'], ['a,m', 'b,m']]);
    expect(calls[1].request.messages[1]).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: 'One two' }],
    });
    expect(out[out.length - 1]).toEqual({ type: 'message_stop', [RESUMED_FIELD]: 2 });
    expect(counters.get('stream_resumes{outcome=resumed}')).toBe(2);
  });

  it('ends with the terminal error past maxResumes', async () => {
    const first = answer('a,m', [start, textStart, text('One'), cut]);
    const second = answer('b,m', [start, textStart, text(' two'), cut]);
    const { stream, counters, log } = setup({ first, continuations: [second] });
    const out = await drain(stream, first.head);
    expect(out[out.length - 1]).toEqual(cut);
    expect(streamGrammarViolations(out, { complete: true })).toEqual([]);
    expect(counters.get('stream_resumes{outcome=refused}')).toBe(1);
    expect(logged(log, 'stream not resumed')).toMatchObject({ reason: 'max_resumes' });
  });

  it('keeps the original terminal error when the continuation finds no target that answers', async () => {
    const first = answer('a,m', [start, textStart, text('One'), cut]);
    const failure = new ProviderError('b,m: 503', { status: 503, kind: 'http' });
    rememberAttempts(failure, [{ target: 'b,m', outcome: 'failed', reason: 'http_503', ms: 3 }]);
    const { stream, counters } = setup({ first, continuations: [failure] });
    const out = await drain(stream, first.head);
    expect(out[out.length - 1]).toEqual(cut);
    expect(counters.get('stream_resumes{outcome=failed}')).toBe(1);
    expect(first.attempts.map((a) => `${a.target} ${a.outcome} ${a.reason ?? ''}`)).toEqual([
      'a,m failed mid_stream',
      'b,m failed http_503',
    ]);
  });

  it('does not resume a tool call, a request error, or a chain with nothing left', async () => {
    const tool = answer('a,m', [
      start,
      {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'tool_use', id: 't', name: 'x', input: {} },
      },
      cut,
    ]);
    const one = setup({ first: tool, continuations: [] });
    expect((await drain(one.stream, tool.head)).pop()).toEqual(cut);
    expect(one.calls).toHaveLength(0);
    expect(logged(one.log, 'stream not resumed')).toMatchObject({ reason: 'not_text' });

    const invalid: StreamEvent = { type: 'error', error: { type: 'invalid_request_error', message: 'bad' } };
    const bad = answer('a,m', [start, textStart, text('x'), invalid]);
    const two = setup({ first: bad, continuations: [] });
    expect((await drain(two.stream, bad.head)).pop()).toEqual(invalid);
    expect(two.calls).toHaveLength(0);

    const alone = answer('a,m', [start, textStart, text('x'), cut]);
    const three = setup({ first: alone, continuations: [], chain: ['a,m'] });
    expect((await drain(three.stream, alone.head)).pop()).toEqual(cut);
    expect(three.counters.get('stream_resumes{outcome=refused}')).toBe(1);
    expect(logged(three.log, 'stream not resumed')).toMatchObject({ reason: 'no_target' });
  });

  it('does not resume once the total deadline has passed', async () => {
    const late = answer('a,m', [start, textStart, text('x'), cut], -1);
    const { stream, calls, log } = setup({ first: late, continuations: [] });
    expect((await drain(stream, late.head)).pop()).toEqual(cut);
    expect(calls).toHaveLength(0);
    expect(logged(log, 'stream not resumed')).toMatchObject({ reason: 'deadline' });
  });

  it("bounds the continuation by the answer's total deadline: an error, never a silent end", async () => {
    const first = answer('a,m', [start, textStart, text('One'), cut], 1_100);
    // The continuation never ends by itself: it stops only when its signal is aborted (like CommittedStream).
    const second: FailoverResult = {
      target: 'b,m',
      head: [start],
      events: {
        next: () =>
          new Promise((resolve) => {
            ctx.calls[0].signal.addEventListener('abort', () => resolve(DONE), { once: true });
          }),
        return: () => Promise.resolve(DONE),
      },
      attempts: [],
    };
    const ctx = setup({ first, continuations: [second] });
    const out = await drain(ctx.stream, first.head);
    expect(out[out.length - 1]).toMatchObject({ type: 'error', error: { type: 'timeout_error' } });
    expect(streamGrammarViolations(out, { complete: true })).toEqual([]);
  });

  it('closes a continuation that arrives after the consumer left', async () => {
    const first = answer('a,m', [start, textStart, text('One'), cut]);
    let closed = false;
    const second = answer('b,m', [start, textStart, text(' two'), ...end(1)]);
    second.events.return = () => {
      closed = true;
      return Promise.resolve(DONE);
    };
    let deliver: (r: FailoverResult) => void = () => undefined;
    const late = new Promise<FailoverResult>((resolve) => (deliver = resolve));
    const { stream, calls } = setup({ first, continuations: [late] });
    await stream.next(); // content_block_start
    await stream.next(); // "One"
    const pending = stream.next(); // the cut: waits for the continuation
    await new Promise((r) => setTimeout(r, 5));
    await stream.return();
    expect(calls[0].signal.aborted).toBe(true);
    deliver(second);
    expect(await pending).toEqual({ done: false, value: cut });
    expect(closed).toBe(true);
    expect(await stream.next()).toEqual(DONE);
  });
});
