/** Helpers of the feature-flag specs: the /api/features calls and unique requests. */
import { randomUUID } from 'node:crypto';
import { FEATURE_NAMES } from '../../src/features/feature-set';

export { eventually } from '../support/gateway';

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

async function call(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export const getFeatures = (gw: { url: string }, headers: Record<string, string> = {}): Promise<Reply> =>
  call(`${gw.url}/api/features`, 'GET', undefined, headers);

export const putFeatures = (
  gw: { url: string },
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> => call(`${gw.url}/api/features`, 'PUT', body, headers);

/** PUT that must succeed. */
export async function setFeatures(
  gw: { url: string },
  body: Record<string, { enabled?: boolean; rollout?: number }>,
  headers: Record<string, string> = {},
): Promise<any> {
  const res = await putFeatures(gw, body, headers);
  if (res.status !== 200) {
    throw new Error(`PUT /api/features → ${res.status}: ${JSON.stringify(res.body)}`);
  }
  return res.body;
}

/** Every feature enabled at 100 %, trips cleared. */
export const allOn = (gw: { url: string }, headers: Record<string, string> = {}): Promise<any> =>
  setFeatures(
    gw,
    Object.fromEntries(FEATURE_NAMES.map((name) => [name, { enabled: true, rollout: 100 }])),
    headers,
  );

export const post = (
  gw: { url: string },
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> => call(`${gw.url}${path}`, 'POST', body, headers);

/** A prompt nobody sent before (no cache hit, no coalescing), with an optional fake-provider directive. */
export const unique = (what: string, behaviour?: Record<string, unknown>): string =>
  `${what} ${randomUUID()}${behaviour ? ` [[fake:${JSON.stringify(behaviour)}]]` : ''}`;

export const messages = (content: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  model: 'claude-sonnet-4-6',
  max_tokens: 64,
  messages: [{ role: 'user', content }],
  ...extra,
});

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
