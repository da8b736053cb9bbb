import { streamGrammarViolations } from '../protocol/stream-grammar';
import { countTextTokens } from '../protocol/tokens';
import type { CanonicalRequest, ErrorPayload, StreamEvent } from '../protocol/types';
import { continuationRequest } from './continuation-request';
import {
  ClientView,
  ContinuationSplicer,
  MIN_RESUME_BUDGET_MS,
  RESUMED_FIELD,
  decideResume,
  isResumedAnswer,
  type ResumeCheck,
} from './stream-resume';

const start = (input = 100, output = 1): StreamEvent => ({
  type: 'message_start',
  message: {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'm',
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: {
      input_tokens: input,
      output_tokens: output,
      cache_read_input_tokens: 7,
      cache_creation_input_tokens: 0,
    },
  },
});
const textStart = (index: number): StreamEvent => ({
  type: 'content_block_start',
  index,
  content_block: { type: 'text', text: '' },
});
const toolStart = (index: number): StreamEvent => ({
  type: 'content_block_start',
  index,
  content_block: { type: 'tool_use', id: 'toolu_1', name: 'Read', input: {} },
});
const text = (index: number, t: string): StreamEvent => ({
  type: 'content_block_delta',
  index,
  delta: { type: 'text_delta', text: t },
});
const stop = (index: number): StreamEvent => ({ type: 'content_block_stop', index });
const delta = (output: number, stopReason: 'end_turn' | 'tool_use' = 'end_turn'): StreamEvent => ({
  type: 'message_delta',
  delta: { stop_reason: stopReason, stop_sequence: null },
  usage: { input_tokens: 999, output_tokens: output },
});
const messageStop: StreamEvent = { type: 'message_stop' };

const viewOf = (events: StreamEvent[]): ClientView => {
  const view = new ClientView();
  events.forEach((ev) => view.observe(ev));
  return view;
};

const splice = (broken: StreamEvent[], continuation: StreamEvent[], skip = ''): StreamEvent[] => {
  const view = viewOf(broken);
  const tokens = view.nextSegment();
  const splicer = new ContinuationSplicer({
    openIndex: view.openIndex,
    nextIndex: view.nextIndex,
    inputUsage: view.inputUsage,
    outputTokens: tokens,
    skip,
    resumes: 1,
  });
  return [...broken, ...continuation.flatMap((ev) => splicer.map(ev))];
};

const textOf = (events: StreamEvent[]): string =>
  events
    .map((e) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : ''))
    .join('');

describe('ContinuationSplicer', () => {
  it('continues the open text block: one message, contiguous indices, summed usage, marked stop', () => {
    const broken = [start(), textStart(0), text(0, 'Hello '), text(0, 'wor')];
    const out = splice(broken, [start(150, 1), textStart(0), text(0, 'ld!'), stop(0), delta(5), messageStop]);
    expect(streamGrammarViolations(out, { complete: true })).toEqual([]);
    expect(out.filter((e) => e.type === 'message_start')).toHaveLength(1);
    expect(out.filter((e) => e.type === 'content_block_start')).toHaveLength(1);
    expect(textOf(out)).toBe('Hello world!');
    const md = out.find((e) => e.type === 'message_delta');
    expect(md).toMatchObject({
      delta: { stop_reason: 'end_turn' },
      usage: {
        input_tokens: 100,
        cache_read_input_tokens: 7,
        output_tokens: countTextTokens('Hello wor') + 5,
      },
    });
    const last = out[out.length - 1];
    expect(last).toEqual({ type: 'message_stop', [RESUMED_FIELD]: 1 });
    expect(isResumedAnswer(last)).toBe(true);
    expect(isResumedAnswer(messageStop)).toBe(false);
  });

  it('starts the next index when the broken answer had already stopped its block', () => {
    const broken = [start(), textStart(0), text(0, 'First.'), stop(0)];
    const out = splice(broken, [start(), textStart(0), text(0, ' Second.'), stop(0), delta(3), messageStop]);
    expect(streamGrammarViolations(out, { complete: true })).toEqual([]);
    expect(
      out.filter((e) => e.type === 'content_block_start').map((e) => (e as { index: number }).index),
    ).toEqual([0, 1]);
    expect(textOf(out)).toBe('First. Second.');
  });

  it('offsets every later block of the continuation', () => {
    const broken = [start(), textStart(0), text(0, 'Let me look')];
    const out = splice(broken, [
      start(),
      textStart(0),
      text(0, ' it up.'),
      stop(0),
      toolStart(1),
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{}' } },
      stop(1),
      delta(9, 'tool_use'),
      messageStop,
    ]);
    expect(streamGrammarViolations(out, { complete: true })).toEqual([]);
    const tool = out.filter((e) => e.type !== 'message_start').slice(3);
    expect(tool.filter((e) => 'index' in e).map((e) => (e as { index: number }).index)).toEqual([0, 1, 1, 1]);
  });

  it('a continuation that starts with another block type stops the open text block first', () => {
    const broken = [start(), textStart(0), text(0, 'Checking')];
    const out = splice(broken, [start(), toolStart(0), stop(0), delta(4, 'tool_use'), messageStop]);
    expect(streamGrammarViolations(out, { complete: true })).toEqual([]);
    expect(out.slice(2, 5)).toEqual([text(0, 'Checking'), stop(0), { ...toolStart(0), index: 1 }]);
  });

  it('a continuation with no block at all still closes the open one before message_delta', () => {
    const out = splice([start(), textStart(0), text(0, 'Done.')], [start(), delta(0), messageStop]);
    expect(streamGrammarViolations(out, { complete: true })).toEqual([]);
  });

  it('nothing but message_start before the break: the continuation is the whole answer', () => {
    const out = splice([start()], [start(), textStart(0), text(0, 'Hi'), stop(0), delta(2), messageStop]);
    expect(streamGrammarViolations(out, { complete: true })).toEqual([]);
    expect(out.filter((e) => e.type === 'message_delta')[0]).toMatchObject({
      usage: { output_tokens: 1 + 2 },
    });
  });

  it('drops the leading whitespace the prefill left out, across deltas, and only that', () => {
    const broken = [start(), textStart(0), text(0, 'Hello \n')];
    const cont = [
      start(),
      textStart(0),
      text(0, ' '),
      text(0, '\n'),
      text(0, ' world'),
      stop(0),
      delta(2),
      messageStop,
    ];
    expect(textOf(splice(broken, cont, ' \n'))).toBe('Hello \n world');
    expect(splice(broken, cont, ' \n').filter((e) => e.type === 'content_block_delta')).toHaveLength(2);
    // A continuation that does not repeat it keeps every character.
    const other = [start(), textStart(0), text(0, 'world'), stop(0), delta(2), messageStop];
    expect(textOf(splice(broken, other, ' \n'))).toBe('Hello \nworld');
    // Only the first text is checked: later whitespace is the answer's own.
    const later = [start(), textStart(0), text(0, 'a'), text(0, ' '), stop(0), delta(2), messageStop];
    expect(textOf(splice(broken, later, ' '))).toBe('Hello \na ');
  });

  it('keeps the text a continuation puts in its block start', () => {
    const broken = [start(), textStart(0), text(0, 'Hello ')];
    const cont: StreamEvent[] = [
      start(),
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: ' there' } },
      text(0, '!'),
      stop(0),
      delta(2),
      messageStop,
    ];
    const out = splice(broken, cont, ' ');
    expect(streamGrammarViolations(out, { complete: true })).toEqual([]);
    expect(textOf(out)).toBe('Hello there!');
  });

  it('passes pings through', () => {
    const view = viewOf([start(), textStart(0)]);
    const splicer = new ContinuationSplicer({
      openIndex: view.openIndex,
      nextIndex: view.nextIndex,
      inputUsage: view.inputUsage,
      outputTokens: 0,
      skip: '',
      resumes: 2,
    });
    expect(splicer.map({ type: 'ping' })).toEqual([{ type: 'ping' }]);
    expect(splicer.map(messageStop)).toEqual([stop(0), { type: 'message_stop', [RESUMED_FIELD]: 2 }]);
  });
});

describe('decideResume', () => {
  const overloaded: ErrorPayload = { type: 'overloaded_error', message: 'Overloaded' };
  const check = (over: Partial<ResumeCheck> = {}): ResumeCheck => ({
    settings: { enabled: true, maxResumes: 1 },
    failover: true,
    view: viewOf([start(), textStart(0), text(0, 'partial')]),
    error: overloaded,
    clientGone: false,
    resumes: 0,
    remainingMs: 60_000,
    targetsLeft: 1,
    ...over,
  });

  it('resumes a text-only answer broken by a transport or server-side failure', () => {
    for (const type of ['api_error', 'overloaded_error', 'timeout_error'] as const) {
      expect(decideResume(check({ error: { type, message: 'x' } }))).toEqual({ resume: true });
    }
    expect(decideResume(check({ view: viewOf([start()]) }))).toEqual({ resume: true });
  });

  it.each([
    'invalid_request_error',
    'authentication_error',
    'permission_error',
    'not_found_error',
    'request_too_large',
    'rate_limit_error',
  ] as const)('refuses %s', (type) => {
    expect(decideResume(check({ error: { type, message: 'x' } }))).toEqual({
      resume: false,
      reason: 'error_type',
      counted: true,
    });
  });

  it('refuses once anything but plain text reached the client', () => {
    const tool = viewOf([start(), textStart(0), text(0, 'a'), stop(0), toolStart(1)]);
    expect(decideResume(check({ view: tool }))).toMatchObject({ resume: false, reason: 'not_text' });
    const thinking = viewOf([
      start(),
      {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'thinking', thinking: '', signature: '' },
      },
    ]);
    expect(decideResume(check({ view: thinking }))).toMatchObject({ resume: false, reason: 'not_text' });
    const redacted = viewOf([
      start(),
      { type: 'content_block_start', index: 0, content_block: { type: 'redacted_thinking', data: 'x' } },
      stop(0),
    ]);
    expect(decideResume(check({ view: redacted }))).toMatchObject({ resume: false, reason: 'not_text' });
    const server = viewOf([
      start(),
      {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'server_tool_use', id: 's', name: 'web_search' },
      },
    ]);
    expect(decideResume(check({ view: server }))).toMatchObject({ resume: false, reason: 'not_text' });
  });

  it('refuses after message_delta, past maxResumes, without budget or target', () => {
    const ended = viewOf([start(), textStart(0), text(0, 'a'), stop(0), delta(1)]);
    expect(decideResume(check({ view: ended }))).toMatchObject({ reason: 'answer_ended' });
    expect(decideResume(check({ resumes: 1 }))).toMatchObject({ reason: 'max_resumes' });
    expect(decideResume(check({ resumes: 1, settings: { enabled: true, maxResumes: 2 } }))).toEqual({
      resume: true,
    });
    expect(decideResume(check({ remainingMs: MIN_RESUME_BUDGET_MS - 1 }))).toMatchObject({
      reason: 'deadline',
    });
    expect(decideResume(check({ targetsLeft: 0 }))).toMatchObject({ reason: 'no_target' });
  });

  it('neither counts nor resumes when disabled or when the client left', () => {
    expect(decideResume(check({ settings: { enabled: false, maxResumes: 1 } }))).toEqual({
      resume: false,
      reason: 'disabled',
      counted: false,
    });
    expect(decideResume(check({ settings: { enabled: true, maxResumes: 0 } }))).toMatchObject({
      reason: 'disabled',
    });
    expect(decideResume(check({ failover: false }))).toMatchObject({ reason: 'disabled' });
    expect(decideResume(check({ clientGone: true }))).toEqual({
      resume: false,
      reason: 'client_gone',
      counted: false,
    });
  });
});

describe('continuationRequest', () => {
  const original: CanonicalRequest = {
    model: 'client-model',
    max_tokens: 100,
    stream: true,
    messages: [{ role: 'user', content: 'Tell me a story' }],
  };

  it('appends the partial text as an assistant prefill, trailing whitespace cut', () => {
    const { request, skip } = continuationRequest(original, 'Once upon a time, \n', 6);
    expect(request.messages).toEqual([
      { role: 'user', content: 'Tell me a story' },
      { role: 'assistant', content: [{ type: 'text', text: 'Once upon a time,' }] },
    ]);
    expect(skip).toBe(' \n');
    expect(request.stream).toBe(true);
    expect(request.max_tokens).toBe(94);
    expect(original.messages).toHaveLength(1);
  });

  it('sends the original request unchanged when there is nothing to prefill', () => {
    expect(continuationRequest(original, '', 1)).toEqual({ request: original, skip: '' });
    expect(continuationRequest(original, '  ', 1)).toEqual({ request: original, skip: '  ' });
  });

  it("extends the client's own prefill (string or blocks)", () => {
    const prefilled: CanonicalRequest = {
      ...original,
      messages: [...original.messages, { role: 'assistant', content: 'Once' }],
    };
    expect(continuationRequest(prefilled, ' upon a ', 3).request.messages[1]).toEqual({
      role: 'assistant',
      content: 'Once upon a',
    });
    const blocks: CanonicalRequest = {
      ...original,
      messages: [...original.messages, { role: 'assistant', content: [{ type: 'text', text: '{"a":' }] }],
    };
    const { request, skip } = continuationRequest(blocks, ' 1', 1);
    expect(request.messages).toHaveLength(2);
    expect(request.messages[1]).toEqual({ role: 'assistant', content: [{ type: 'text', text: '{"a": 1' }] });
    expect(skip).toBe('');
  });

  it('keeps max_tokens at least 1 and drops extended thinking under a prefill', () => {
    const thinking: CanonicalRequest = { ...original, thinking: { type: 'enabled', budget_tokens: 50 } };
    const { request } = continuationRequest(thinking, 'abc', 500);
    expect(request.max_tokens).toBe(1);
    expect(request.thinking).toBeUndefined();
    expect(thinking.thinking).toBeDefined();
  });
});

describe('ClientView', () => {
  it('estimates the output tokens of broken segments and adds them up', () => {
    const view = viewOf([start(100, 1), textStart(0), text(0, 'Hello there, general Kenobi')]);
    const first = view.nextSegment();
    expect(first).toBe(countTextTokens('Hello there, general Kenobi'));
    view.observe(text(0, ' you are a bold one'));
    expect(view.nextSegment()).toBe(first + countTextTokens(' you are a bold one'));
    expect(view.text).toBe('Hello there, general Kenobi you are a bold one');
  });

  it('a citation makes the answer something a text prefill cannot carry', () => {
    const view = viewOf([
      start(),
      textStart(0),
      { type: 'content_block_delta', index: 0, delta: { type: 'citations_delta', citation: {} } },
    ]);
    expect(view.notText).toBe('citations_delta');
  });
});
