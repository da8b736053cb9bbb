import { resolve } from 'node:path';

/** The logger a custom router gets (pino's call shapes: `info("text")`, `info({…}, "text")`). */
export interface RouterLog {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

/**
 * CCR's custom router contract: `module.exports = async (req, config, ctx) => "provider,model" | null`.
 * `req` carries the body, headers, token count, session id and a logger (`req.log`, as on CCR's Fastify
 * request); `ctx` the same logger. Loaded once at boot (and again on reload); a failing router is logged and
 * falls through.
 */
export type CustomRouterFn = (
  req: { body: unknown; headers: Record<string, unknown>; tokenCount: number; sessionId?: string; log: RouterLog },
  config: unknown,
  ctx: { log: RouterLog },
) => Promise<string | null | undefined> | string | null | undefined;

export function loadCustomRouter(path: string): CustomRouterFn {
  const absolute = resolve(path);
  // A fresh load on every call so that a reload picks up an edited file.
  delete require.cache[require.resolve(absolute)];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(absolute) as CustomRouterFn | { default?: CustomRouterFn; router?: CustomRouterFn };
  const fn = typeof mod === 'function' ? mod : (mod.default ?? mod.router);
  if (typeof fn !== 'function') {
    throw new Error(`CUSTOM_ROUTER_PATH ${absolute} does not export a function`);
  }
  return fn;
}
