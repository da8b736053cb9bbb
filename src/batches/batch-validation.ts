import { GatewayError } from '../protocol/errors';
import type { BatchRequestInput } from './batch.types';

const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;

const invalid = (message: string): GatewayError =>
  new GatewayError(400, message, { type: 'invalid_request_error' });

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks a `POST /v1/messages/batches` body: a non-empty `requests` array of at most `maxRequests`, unique
 * custom ids, and every `params` an object. The first problem is reported, naming the request it is in.
 */
export function parseCreateBatch(body: unknown, maxRequests: number): BatchRequestInput[] {
  if (!isObject(body)) {
    throw invalid('Request body must be a JSON object');
  }
  const requests = body.requests;
  if (requests === undefined) {
    throw invalid('requests: Field required');
  }
  if (!Array.isArray(requests)) {
    throw invalid('requests: must be an array');
  }
  if (requests.length === 0) {
    throw invalid('requests: at least one request is required');
  }
  if (requests.length > maxRequests) {
    throw invalid(`requests: a batch holds at most ${maxRequests} requests (got ${requests.length})`);
  }
  const seen = new Map<string, number>();
  return requests.map((entry: unknown, i): BatchRequestInput => {
    const at = `requests[${i}]`;
    if (!isObject(entry)) {
      throw invalid(`${at}: must be an object with custom_id and params`);
    }
    const customId = entry.custom_id;
    if (typeof customId !== 'string') {
      throw invalid(`${at}.custom_id: Field required (a string)`);
    }
    if (!CUSTOM_ID.test(customId)) {
      throw invalid(
        `${at}.custom_id: "${customId.slice(0, 80)}" must be 1-64 characters of a-z, A-Z, 0-9, _ or -`,
      );
    }
    const first = seen.get(customId);
    if (first !== undefined) {
      throw invalid(`${at}.custom_id: duplicate custom_id "${customId}" (also used by requests[${first}])`);
    }
    seen.set(customId, i);
    const params = entry.params;
    if (!isObject(params)) {
      throw invalid(`${at} (custom_id "${customId}"): params: Field required (a Messages request object)`);
    }
    // What is inside params is checked when the request runs, as Anthropic does: an invalid one is an
    // `errored` result (invalid_request_error) and the rest of the batch runs (batch-runner.service.ts).
    return { custom_id: customId, params };
  });
}
