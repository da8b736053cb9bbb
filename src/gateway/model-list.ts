import { boundedModel } from '../common/client-model';
import { GatewayError } from '../protocol/errors';
import { invalid } from './validation-errors';

/** One configured target as the models API shows it; `id` is what a request's `model` names it by. */
export interface ModelEntry {
  id: string;
  provider: string;
  model: string;
}

export interface AnthropicModelInfo {
  type: 'model';
  id: string;
  display_name: string;
  created_at: string;
}

export interface OpenAIModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

export interface AnthropicModelPage {
  data: AnthropicModelInfo[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

/** Anthropic's Models API bounds for `limit`. */
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;

export const modelId = (provider: string, model: string): string => `${provider},${model}`;

export function anthropicModel(e: ModelEntry, createdSec: number): AnthropicModelInfo {
  return {
    type: 'model',
    id: e.id,
    display_name: `${e.model} (${e.provider})`,
    created_at: new Date(createdSec * 1000).toISOString(),
  };
}

export function openAIModel(e: ModelEntry, createdSec: number): OpenAIModel {
  return { id: e.id, object: 'model', created: createdSec, owned_by: e.provider };
}

/** The entry a retrieve names: exactly an id of the list (`provider,model`; the model may hold `/`). */
export function findModel(entries: ModelEntry[], id: string): ModelEntry {
  const entry = entries.find((e) => e.id === id);
  if (!entry) {
    throw new GatewayError(404, `model: "${boundedModel(id)}" is not a configured "provider,model"`, {
      type: 'not_found_error',
    });
  }
  return entry;
}

function one(value: unknown): string | undefined {
  const v = Array.isArray(value) ? (value as unknown[])[0] : value;
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function cursorIndex(entries: ModelEntry[], id: string, param: string): number {
  const i = entries.findIndex((e) => e.id === id);
  if (i < 0) {
    throw invalid(param, `"${id}" is not a model of this list`);
  }
  return i;
}

/**
 * One page of Anthropic's list (`limit` 1–1000, default 20; `after_id` / `before_id` cursors): `has_more`
 * says whether more entries lie in the direction paged (after the page, or before it with `before_id`).
 */
export function anthropicPage(
  entries: ModelEntry[],
  query: Record<string, unknown>,
  createdSec: number,
): AnthropicModelPage {
  const rawLimit = one(query.limit);
  const limit = rawLimit === undefined ? DEFAULT_LIMIT : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw invalid('limit', `must be an integer between 1 and ${MAX_LIMIT}`);
  }
  const afterId = one(query.after_id);
  const beforeId = one(query.before_id);
  if (afterId !== undefined && beforeId !== undefined) {
    throw invalid('before_id', 'cannot be combined with after_id');
  }
  let page: ModelEntry[];
  let hasMore: boolean;
  if (beforeId !== undefined) {
    const end = cursorIndex(entries, beforeId, 'before_id');
    const start = Math.max(0, end - limit);
    page = entries.slice(start, end);
    hasMore = start > 0;
  } else {
    const start = afterId === undefined ? 0 : cursorIndex(entries, afterId, 'after_id') + 1;
    page = entries.slice(start, start + limit);
    hasMore = start + limit < entries.length;
  }
  const data = page.map((e) => anthropicModel(e, createdSec));
  return {
    data,
    has_more: hasMore,
    first_id: data[0]?.id ?? null,
    last_id: data[data.length - 1]?.id ?? null,
  };
}
