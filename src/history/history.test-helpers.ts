import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HistoryRow } from './history.types';

/** A plausible successful, streamed, cache-miss row; tests override what they check. */
export function historyRow(over: Partial<HistoryRow> = {}): HistoryRow {
  return {
    ts: Date.now(),
    requestId: `req-${Math.random().toString(36).slice(2, 10)}`,
    route: 'messages',
    scenario: 'default',
    target: 'openai,gpt-fake',
    clientModel: 'claude-sonnet-4',
    status: 200,
    stream: true,
    cache: 'MISS',
    dedup: 'leader',
    attempts: 1,
    failovers: 0,
    queueClass: 'interactive',
    queueWaitMs: 0,
    ttfbMs: 50,
    durationMs: 100,
    upstreamMs: 90,
    inputTokens: 10,
    outputTokens: 20,
    cacheReadTokens: 0,
    cacheCreationTokens: 0,
    errorType: null,
    errorSource: null,
    ...over,
  };
}

export const tempDir = (prefix = 'sy-history-'): string => mkdtempSync(join(tmpdir(), prefix));
