import { requestOrigin, toMessageBatch } from './batch-view';
import { emptyCounts, type BatchRecord } from './batch.types';

const record = (over: Partial<BatchRecord> = {}): BatchRecord => ({
  id: 'msgbatch_01',
  status: 'in_progress',
  total: 2,
  counts: emptyCounts(2),
  createdAt: Date.UTC(2026, 0, 1),
  expiresAt: Date.UTC(2026, 0, 2),
  endedAt: null,
  cancelInitiatedAt: null,
  ...over,
});

describe('toMessageBatch', () => {
  it('is the Anthropic MessageBatch shape with ISO times and no results_url before the end', () => {
    expect(toMessageBatch(record(), 'http://gw:1')).toEqual({
      id: 'msgbatch_01',
      type: 'message_batch',
      processing_status: 'in_progress',
      request_counts: { processing: 2, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
      ended_at: null,
      created_at: '2026-01-01T00:00:00.000Z',
      expires_at: '2026-01-02T00:00:00.000Z',
      cancel_initiated_at: null,
      archived_at: null,
      results_url: null,
    });
  });

  it('has an absolute results_url once ended', () => {
    const view = toMessageBatch(
      record({ status: 'ended', endedAt: Date.UTC(2026, 0, 1, 1) }),
      'https://gw.example',
    );
    expect(view.results_url).toBe('https://gw.example/v1/messages/batches/msgbatch_01/results');
    expect(view.ended_at).toBe('2026-01-01T01:00:00.000Z');
  });
});

describe('requestOrigin', () => {
  it('uses the Host header', () => {
    expect(requestOrigin({ host: '127.0.0.1:3456' }, false, 'fallback')).toBe('http://127.0.0.1:3456');
    expect(requestOrigin({ host: 'gw.local' }, true, 'fallback')).toBe('https://gw.local');
  });

  it('prefers the first x-forwarded-proto / x-forwarded-host values', () => {
    const headers = {
      host: 'internal:3456',
      'x-forwarded-proto': 'https, http',
      'x-forwarded-host': 'api.example.com, proxy',
    };
    expect(requestOrigin(headers, false, 'fallback')).toBe('https://api.example.com');
  });

  it('ignores malformed values', () => {
    const headers = {
      host: 'good:1',
      'x-forwarded-host': 'evil.com/path?x',
      'x-forwarded-proto': 'javascript',
    };
    expect(requestOrigin(headers, false, 'fallback')).toBe('http://good:1');
    expect(requestOrigin({}, false, 'fallback')).toBe('http://fallback');
    expect(requestOrigin({ host: '[::1]:8080' }, false, 'x')).toBe('http://[::1]:8080');
  });
});
