import { AnswerDigest } from './answer-digest';
import { answerEvents } from './shadow.test-helpers';

function digestOf(events: ReturnType<typeof answerEvents>, start = 0, step = 10) {
  const d = new AnswerDigest(start);
  events.forEach((ev, i) => d.push(ev, start + step * (i + 1)));
  d.end(start + step * (events.length + 5));
  return d.summary();
}

describe('AnswerDigest', () => {
  it('measures first and last event from its start, and reads usage and stop reason', () => {
    const s = digestOf(answerEvents(['Hel', 'lo'], { input: 12, output: 7, stop: 'max_tokens' }), 100);
    expect(s).toMatchObject({
      ttfbMs: 10,
      durationMs: 70, // message_stop is the 7th event
      inputTokens: 12,
      outputTokens: 7,
      stopReason: 'max_tokens',
      complete: true,
    });
    expect(s.textHash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('hashes what was said, not how it was chunked', () => {
    const a = digestOf(answerEvents(['Hello', ' world']));
    const b = digestOf(answerEvents(['Hel', 'lo wo', 'rld']));
    const c = digestOf(answerEvents(['Hello world!']));
    expect(a.textHash).toBe(b.textHash);
    expect(a.textHash).not.toBe(c.textHash);
  });

  it('counts cache reads and writes as input', () => {
    const events = answerEvents(['x']);
    const start = events[0];
    if (start.type === 'message_start') {
      start.message.usage = {
        input_tokens: 5,
        output_tokens: 1,
        cache_read_input_tokens: 100,
        cache_creation_input_tokens: 20,
      };
    }
    expect(digestOf(events).inputTokens).toBe(125);
  });

  it('notes a terminal error and an incomplete answer', () => {
    const events = answerEvents(['partial']).slice(0, 3);
    const d = new AnswerDigest(0);
    events.forEach((ev) => d.push(ev, 5));
    d.push({ type: 'error', error: { type: 'overloaded_error', message: 'busy' } }, 50);
    expect(d.summary()).toMatchObject({ complete: false, error: 'overloaded_error: busy', durationMs: 50 });
  });

  it('an answer that never opened has no times nor hash; end() dates an abandoned one', () => {
    const d = new AnswerDigest(0);
    expect(d.summary()).toMatchObject({ ttfbMs: undefined, durationMs: undefined, textHash: undefined });
    d.opened(30);
    d.end(90);
    expect(d.summary()).toMatchObject({ ttfbMs: 30, durationMs: 90, complete: false });
  });

  it('summary can be read twice and events after it are ignored', () => {
    const d = new AnswerDigest(0);
    answerEvents(['a']).forEach((ev) => d.push(ev, 1));
    const first = d.summary().textHash;
    d.push({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'more' } }, 2);
    expect(d.summary().textHash).toBe(first);
  });
});
