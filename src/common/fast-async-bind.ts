import { AsyncResource } from 'node:async_hooks';

type Bind = (this: AsyncResource, fn: (...args: unknown[]) => unknown, thisArg?: unknown) => (...args: unknown[]) => unknown;

let installed = false;

/**
 * `AsyncResource.prototype.bind` without the deprecated `asyncResource` accessor (DEP0172).
 *
 * Node 20 builds that accessor on every bind with two `util.deprecate` wrappers, and Nest binds twice per
 * interceptor per request (plus Fastify once per parsed body): ~3 % of a proxied request's CPU went into
 * wrappers nobody reads (newer Node versions no longer define the property). The replacement keeps what
 * callers rely on — the function runs in the async context captured at bind time, with the caller's
 * `this` (or `thisArg`) and the original `length`. Installed once per process, and only when the running
 * Node still defines the accessor.
 */
export function installFastAsyncBind(): void {
  if (installed) {
    return;
  }
  installed = true;
  const probe = new AsyncResource('switchyard-probe').bind(() => undefined);
  if (!Object.getOwnPropertyDescriptor(probe, 'asyncResource')) {
    return; // this Node is already lean
  }
  const fastBind: Bind = function (this: AsyncResource, fn, thisArg) {
    return bindTo(this, fn, thisArg);
  };
  (AsyncResource.prototype as unknown as { bind: Bind }).bind = fastBind;
}

function bindTo(
  resource: AsyncResource,
  fn: (...args: unknown[]) => unknown,
  thisArg: unknown,
): (...args: unknown[]) => unknown {
  if (typeof fn !== 'function') {
    throw new TypeError(`The "fn" argument must be of type function. Received ${typeof fn}`);
  }
  const bound =
    thisArg === undefined
      ? function (this: unknown, ...args: unknown[]): unknown {
          return resource.runInAsyncScope(fn, this, ...args);
        }
      : (...args: unknown[]): unknown => resource.runInAsyncScope(fn, thisArg, ...args);
  Object.defineProperty(bound, 'length', { configurable: true, enumerable: false, value: fn.length, writable: false });
  return bound;
}
