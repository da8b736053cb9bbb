/** Routing of the fake's paths, request body reading and the static model lists. */
import type { IncomingMessage } from 'node:http';
import type { GenerationApi } from './request-inspect';
import type { RecordedApi } from './types';

const MAX_BODY_BYTES = 64 * 1024 * 1024;

export const FAKE_MODELS = [
  'fake-model',
  'gpt-4o-mini',
  'claude-sonnet-4-20250514',
  'deepseek-chat',
  'glm-4.5',
  'moonshotai/kimi-k2-instruct',
  'gemini-2.5-flash',
];

export type RouteKind = GenerationApi | 'models' | 'gemini-models' | 'model' | 'count_tokens' | 'unknown';

export interface Route {
  kind: RouteKind;
  api: RecordedApi;
  model?: string;
  stream?: boolean;
}

const GEMINI_PATH = /\/models\/([^/]+):(generateContent|streamGenerateContent)$/;

/** Suffix matching, so gateway configs can mimic real base URLs (`/anthropic/v1/messages`, `/api/paas/v4/chat/completions`). */
export function routeOf(method: string, path: string): Route {
  if (path.endsWith('/chat/completions')) {
    return { kind: 'openai', api: 'openai' };
  }
  if (path.endsWith('/messages/count_tokens')) {
    return { kind: 'count_tokens', api: 'count_tokens' };
  }
  if (path.endsWith('/messages')) {
    return { kind: 'anthropic', api: 'anthropic' };
  }
  const gemini = GEMINI_PATH.exec(path);
  if (gemini) {
    return {
      kind: 'gemini',
      api: 'gemini',
      model: decodeURIComponent(gemini[1]),
      stream: gemini[2] === 'streamGenerateContent',
    };
  }
  if (method === 'GET' && path.endsWith('/models')) {
    return path.includes('v1beta')
      ? { kind: 'gemini-models', api: 'models' }
      : { kind: 'models', api: 'models' };
  }
  const single = method === 'GET' ? /\/models\/(.+)$/.exec(path) : null;
  if (single) {
    return { kind: 'model', api: 'models', model: decodeURIComponent(single[1]) };
  }
  return { kind: 'unknown', api: 'other' };
}

/** Resolves with the body, or null when it exceeds the cap; rejects when the client goes away first. */
export function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) {
        chunks.push(c);
      }
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) {
        reject(new Error('client closed while sending the body'));
      }
    });
  });
}

const CREATED = 1_700_000_000;

/** One model in a shape both SDKs read (OpenAI Model and Anthropic ModelInfo). */
export function modelInfo(id: string): Record<string, unknown> {
  return {
    id,
    object: 'model',
    created: CREATED,
    owned_by: 'fake-provider',
    type: 'model',
    display_name: id,
    created_at: new Date(CREATED * 1000).toISOString(),
  };
}

export function modelsBody(kind: 'models' | 'gemini-models'): unknown {
  if (kind === 'gemini-models') {
    return {
      models: FAKE_MODELS.map((id) => ({
        name: `models/${id}`,
        displayName: id,
        supportedGenerationMethods: ['generateContent', 'countTokens'],
      })),
    };
  }
  // One list both SDKs can read: OpenAI {object, data[{id, object}]} and Anthropic {data[{type, id}], has_more}.
  return {
    object: 'list',
    data: FAKE_MODELS.map(modelInfo),
    has_more: false,
    first_id: FAKE_MODELS[0],
    last_id: FAKE_MODELS[FAKE_MODELS.length - 1],
  };
}
