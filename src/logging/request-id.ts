import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const VALID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The correlation id of a request: the client's `x-request-id` when it is a sane token, else a new UUID.
 * Stored on the raw request so that Fastify, pino-http and the gateway all see the same value.
 */
export function requestIdFor(raw: IncomingMessage & { id?: unknown }, acceptClientId = true): string {
  if (typeof raw.id === 'string') {
    return raw.id;
  }
  const header = raw.headers['x-request-id'];
  const candidate = Array.isArray(header) ? header[0] : header;
  const id = acceptClientId && candidate && VALID.test(candidate) ? candidate : randomUUID();
  raw.id = id;
  return id;
}
