import { resolve } from 'node:path';

/**
 * CCR's custom router contract: `module.exports = async (req, config, ctx) => "provider,model" | null`.
 * `req` carries the body, headers, token count and session id; `ctx` the scenario the built-in rules
 * would pick. Loaded once at boot (and again on reload); a failing router is logged and falls through.
 */
export type CustomRouterFn = (
  req: { body: unknown; headers: Record<string, unknown>; tokenCount: number; sessionId?: string },
  config: unknown,
  ctx: { log: { warn(obj: object, msg?: string): void } },
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
