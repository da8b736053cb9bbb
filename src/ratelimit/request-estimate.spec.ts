import { estimateRequestTokens } from './request-estimate';

describe('estimateRequestTokens', () => {
  const CAP = 4096;

  it('charges body bytes / 4 plus max_tokens', () => {
    expect(estimateRequestTokens({ model: 'm', max_tokens: 100, messages: [] }, 400, false, CAP)).toBe(200);
  });

  it('caps max_tokens at the configured estimate (Claude Code asks for 32 000 every time)', () => {
    expect(estimateRequestTokens({ max_tokens: 32_000 }, 40, false, CAP)).toBe(10 + CAP);
  });

  it('reads OpenAI max_completion_tokens first, and charges the cap when no limit is given', () => {
    expect(estimateRequestTokens({ max_completion_tokens: 50, max_tokens: 999 }, 4, false, CAP)).toBe(51);
    expect(estimateRequestTokens({ messages: [] }, 4, false, CAP)).toBe(1 + CAP);
  });

  it('measures the parsed body when there is no content-length', () => {
    const body = { max_tokens: 1, messages: [{ role: 'user', content: 'x'.repeat(400) }] };
    const bytes = JSON.stringify(body).length;
    expect(estimateRequestTokens(body, undefined, false, CAP)).toBe(Math.ceil(bytes / 4) + 1);
  });

  it('sums every request of a message batch, each capped', () => {
    const batch = {
      requests: [
        { custom_id: 'a', params: { max_tokens: 10 } },
        { custom_id: 'b', params: { max_tokens: 100_000 } },
        { custom_id: 'c' },
      ],
    };
    expect(estimateRequestTokens(batch, 800, true, CAP)).toBe(200 + 10 + CAP + CAP);
  });
});
