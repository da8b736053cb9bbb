import type { FastifyInstance, RouteOptions } from 'fastify';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

interface RouteEntry {
  method: string;
  pattern: RegExp;
}

const tables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** A route's URL pattern as a regular expression: `:param` is one segment, `*` the rest of the path. */
function compile(url: string): RegExp {
  const source = url
    .split(/(:[A-Za-z0-9_]+|\*)/)
    .map((part) => {
      if (part === '*') {
        return '.*';
      }
      if (part.startsWith(':')) {
        return '[^/]+';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`);
}

/**
 * Remembers the routes as they are declared (call before the application registers them), so that a 405
 * can be told from a 404 for parametric paths too (`/v1/models/{id}`, `/v1/messages/batches/{id}`), which
 * Fastify's hasRoute only matches by their pattern.
 */
export function recordRoutes(fastify: FastifyInstance): void {
  const table: RouteEntry[] = [];
  tables.set(fastify, table);
  fastify.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      table.push({ method: method.toUpperCase(), pattern: compile(route.url) });
    }
  });
}

/** The methods some route serves `path` with (the recorded table; Fastify's pattern lookup without one). */
export function allowedMethods(fastify: FastifyInstance, path: string): string[] {
  const table = tables.get(fastify);
  if (!table) {
    return METHODS.filter((method) => fastify.hasRoute({ method, url: path }));
  }
  return METHODS.filter((method) => table.some((r) => r.method === method && r.pattern.test(path)));
}
