import type { JsonObject } from './transformer.types';

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Removes every `cache_control` key, at any depth (messages, parts, system blocks, tools). */
export function stripCacheControl(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      stripCacheControl(item);
    }
    return;
  }
  if (!isObject(value)) {
    return;
  }
  delete value.cache_control;
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (typeof v === 'object' && v !== null) {
      stripCacheControl(v);
    }
  }
}

/** Deep merge: objects merge key by key, anything else (arrays included) replaces. */
export function deepMerge(target: JsonObject, source: JsonObject): JsonObject {
  for (const [key, value] of Object.entries(source)) {
    // Never let config write through the prototype chain.
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
      continue;
    }
    const existing = target[key];
    target[key] =
      isObject(existing) && isObject(value) ? deepMerge({ ...existing }, value) : structuredClone(value);
  }
  return target;
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Clamps whichever output-token field the body (OpenAI, Anthropic or Gemini shape) carries. */
export function clampMaxTokens(body: JsonObject, cap: number): void {
  for (const field of ['max_tokens', 'max_completion_tokens']) {
    const v = num(body[field]);
    if (v !== undefined && v > cap) {
      body[field] = cap;
    }
  }
  const gen = body.generationConfig;
  if (isObject(gen)) {
    const v = num(gen.maxOutputTokens);
    if (v !== undefined && v > cap) {
      gen.maxOutputTokens = cap;
    }
  }
}

/** Template fields copied onto chunks a transformer synthesises. */
export function chunkShell(last: JsonObject | undefined): JsonObject {
  return {
    id: last?.id ?? 'chatcmpl-swy',
    object: 'chat.completion.chunk',
    created: last?.created ?? Math.floor(Date.now() / 1000),
    model: last?.model ?? 'unknown',
  };
}
