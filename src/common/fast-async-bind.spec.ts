import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { installFastAsyncBind } from './fast-async-bind';

describe('installFastAsyncBind', () => {
  beforeAll(() => installFastAsyncBind());

  it('drops the deprecated asyncResource accessor', () => {
    const bound = AsyncResource.bind(() => 1);
    expect(Object.getOwnPropertyDescriptor(bound, 'asyncResource')).toBeUndefined();
  });

  it('runs the function in the async context of bind time', async () => {
    const als = new AsyncLocalStorage<string>();
    const bound = als.run('at-bind', () => AsyncResource.bind(() => als.getStore()));
    const seen = await als.run('at-call', async () => {
      await Promise.resolve();
      return bound();
    });
    expect(seen).toBe('at-bind');
  });

  it('keeps length, arguments and this', () => {
    const f = function (this: unknown, a: number, b: number): number {
      return (this as { k: number }).k + a + b;
    };
    const bound = AsyncResource.bind(f);
    expect(bound.length).toBe(2);
    expect(bound.call({ k: 1 }, 2, 3)).toBe(6);
    const withThis = AsyncResource.bind(f, 'type', { k: 10 });
    expect((withThis)(2, 3)).toBe(15);
  });

  it('rejects a non-function like Node does', () => {
    expect(() => new AsyncResource('x').bind(42 as unknown as () => void)).toThrow(/"fn" argument must be of type function/);
  });
});
