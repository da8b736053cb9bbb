import type { z } from 'zod';
import { GatewayError } from '../protocol/errors';
import { MAX_BODY_DEPTH, tooDeep } from './body-depth';

/** A 400 naming the field at fault: `path: message`, with `path` as OpenAI's `error.param`. */
export function invalid(path: string, message: string): GatewayError {
  return new GatewayError(400, `${path}: ${message}`, { type: 'invalid_request_error', param: path });
}

/** The first zod issue as a 400 naming its field (`prefix` locates a sub-object that was parsed alone). */
export function fail(error: z.ZodError, prefix = ''): never {
  const issue = error.issues[0];
  const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  const path = `${prefix}${where}`.replace(/^\./, '');
  const message =
    issue.code === 'invalid_type' && issue.message.includes('undefined') ? 'Field required' : issue.message;
  if (!path) {
    throw new GatewayError(400, `body: ${message}`, { type: 'invalid_request_error' });
  }
  throw invalid(path, message);
}

/** A JSON object body, not nested deeper than MAX_BODY_DEPTH anywhere. */
export function requireObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new GatewayError(400, 'Request body must be a JSON object', { type: 'invalid_request_error' });
  }
  const deep = tooDeep(body);
  if (deep) {
    throw new GatewayError(
      400,
      `${deep.path}${deep.truncated ? '…' : ''}: nested deeper than ${MAX_BODY_DEPTH} levels`,
      { type: 'invalid_request_error', param: deep.path },
    );
  }
  return body as Record<string, unknown>;
}
