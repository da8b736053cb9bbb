import { errorTypeForStatus } from './errors';
import type { AnthropicErrorType, ErrorPayload } from './types';

/** Readers for the loosely typed parts of OpenAI-compatible chunks, where providers differ (§5.4). */

export type Json = Record<string, unknown>;

export function isJson(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** DeepSeek/GLM `reasoning_content`, OpenRouter `reasoning` (which duplicates `reasoning_details` text). */
export function reasoningText(delta: Json): string {
  for (const field of [delta.reasoning_content, delta.reasoning]) {
    if (typeof field === 'string' && field !== '') {
      return field;
    }
  }
  return reasoningDetails(delta)
    .map((d) => (d.type === 'reasoning.text' && typeof d.text === 'string' ? d.text : ''))
    .join('');
}

/** OpenRouter relays Claude's real signature in `reasoning_details`; it beats a minted one. */
export function reasoningSignature(delta: Json): string | undefined {
  let signature: string | undefined;
  for (const d of reasoningDetails(delta)) {
    if (d.type === 'reasoning.text' && typeof d.signature === 'string' && d.signature !== '') {
      signature = d.signature;
    }
  }
  return signature;
}

function reasoningDetails(delta: Json): Json[] {
  return Array.isArray(delta.reasoning_details) ? (delta.reasoning_details as unknown[]).filter(isJson) : [];
}

/** Upstream `{error}` → Anthropic error: a numeric code/status maps like an HTTP status (§6.8), else `fallback`. */
export function toErrorPayload(error: unknown, fallback: AnthropicErrorType): ErrorPayload {
  if (!isJson(error)) {
    const message = typeof error === 'string' && error !== '' ? error : 'upstream error';
    return { type: fallback, message };
  }
  const message =
    typeof error.message === 'string' && error.message !== '' ? error.message : JSON.stringify(error);
  const status = httpStatus(error.code) ?? httpStatus(error.status);
  if (status !== undefined) {
    return { type: errorTypeForStatus(status), message };
  }
  // OpenAI's `type` strings ("server_error", "invalid_request_error") are not Anthropic's vocabulary.
  return { type: fallback, message };
}

function httpStatus(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d{3}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 400 && n <= 599 ? n : undefined;
}
