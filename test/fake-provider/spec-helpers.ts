/** Raw-HTTP helpers for the fake provider's own specs (wire shapes the SDKs would hide). */
import { request } from 'undici';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export async function rawPost(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<RawResponse> {
  const res = await request(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

export async function rawGet(base: string, path: string): Promise<RawResponse> {
  const res = await request(base + path);
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** `data:` payloads of an SSE body, in order (raw strings, `[DONE]` included). */
export function dataLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .filter((l) => l.startsWith('data:'))
    .map((l) => l.slice(5).trim());
}

/** JSON chunks of an OpenAI-style stream (without `[DONE]`). */
export function jsonChunks(text: string): any[] {
  return dataLines(text)
    .filter((d) => d !== '[DONE]')
    .map((d) => JSON.parse(d));
}

/** Anthropic events as {event, data} pairs; throws if a frame lacks its `event:` line. */
export function sseEvents(text: string): { event: string; data: any }[] {
  return text
    .split('\n\n')
    .filter((f) => f.trim() !== '')
    .map((frame) => {
      const event = /^event: (.+)$/m.exec(frame)?.[1];
      const data = /^data: (.+)$/m.exec(frame)?.[1];
      if (!event || data === undefined) {
        throw new Error(`bad SSE frame: ${frame}`);
      }
      return { event, data: JSON.parse(data) };
    });
}

export const anthropicBody = (content: unknown, extra: Record<string, unknown> = {}) => ({
  model: 'claude-sonnet-4-20250514',
  max_tokens: 1024,
  messages: [{ role: 'user', content }],
  ...extra,
});

export const openaiBody = (content: unknown, extra: Record<string, unknown> = {}) => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content }],
  ...extra,
});

export const BASH_TOOL = {
  name: 'Bash',
  description: 'Run a shell command',
  input_schema: {
    type: 'object',
    properties: { command: { type: 'string' }, timeout: { type: 'number' } },
    required: ['command'],
  },
};

export const directive = (b: unknown) => `[[fake:${JSON.stringify(b)}]]`;
