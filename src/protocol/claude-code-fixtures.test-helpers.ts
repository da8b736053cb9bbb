import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CanonicalRequest } from './types';

/** Real Claude Code 2.1.x captures (test/fixtures/claude-code): request line, headers and body. */
export interface ClaudeCodeCapture {
  name: string;
  headers: Record<string, string>;
  body: CanonicalRequest;
}

const DIR = join(__dirname, '..', '..', 'test', 'fixtures', 'claude-code');

export function loadClaudeCodeCaptures(): ClaudeCodeCapture[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const raw = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as {
        headers: Record<string, string>;
        body: CanonicalRequest;
      };
      return { name: f.replace(/\.json$/, ''), headers: raw.headers, body: raw.body };
    });
}
