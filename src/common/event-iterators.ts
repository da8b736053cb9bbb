/**
 * Pass-through stages of an answer's event chain as plain iterator objects. Each streamed event crosses
 * several stages between the upstream and the client; an async generator costs a few promise hops per
 * event and per stage (its own queue, the await, the yield), a `.then` on the source's promise costs one.
 * Both stages forward `return()` so a consumer leaving early still releases the upstream.
 */

export type EventIterator<T> = AsyncIterator<T> & AsyncIterable<T>;

const DONE = { done: true, value: undefined } as IteratorReturnResult<undefined>;

/** At the end, closes the chain below as a generator's `finally` would, then reports the end (no extra hop per item). */
function closeBelow<T>(
  below: AsyncIterator<T>,
  end: IteratorResult<T>,
  markFinished: () => void,
): IteratorResult<T> | Promise<IteratorResult<T>> {
  markFinished();
  const closing = below.return?.(undefined);
  return closing ? closing.then(
    () => end,
    () => end,
  ) : end;
}

/** The already-pulled `head` items, then the rest of `rest`. */
export function prepend<T>(head: readonly T[], rest: AsyncIterator<T>): EventIterator<T> {
  return passThrough(rest, { head });
}

/** `source`'s items unchanged; `observe` sees each one before the consumer does. */
export function tapEach<T>(source: AsyncIterator<T>, observe: (item: T) => void): EventIterator<T> {
  return passThrough(source, { observe });
}

export interface PassThroughHooks<T> {
  /** Items handed out before the source is asked for anything. */
  head?: readonly T[];
  /** Sees each item of the source before the consumer does. */
  observe?: (item: T) => void;
  /** The source ended normally (not when the consumer left early or the source failed). */
  onDone?: () => void;
  /** Exactly once, however the chain ends: done, failed, or left early (a generator's `finally`). */
  onRelease?: () => void;
}

/** The general form of the stages above: one `.then` per item, whatever combination of hooks. */
export function passThrough<T>(source: AsyncIterator<T>, hooks: PassThroughHooks<T>): EventIterator<T> {
  const { head = [], observe, onDone, onRelease } = hooks;
  let i = 0;
  let finished = false;
  let released = false;
  const release = (): void => {
    if (!released) {
      released = true;
      onRelease?.();
    }
  };
  const markFinished = (): void => {
    finished = true;
    release();
  };
  const onItem = (r: IteratorResult<T>): IteratorResult<T> | Promise<IteratorResult<T>> => {
    if (r.done) {
      onDone?.();
      return closeBelow(source, r, markFinished);
    }
    observe?.(r.value);
    return r;
  };
  const onFailure = onRelease
    ? async (err: unknown): Promise<never> => {
        markFinished();
        try {
          await source.return?.(undefined);
        } catch {
          // the failure already closed it
        }
        throw err;
      }
    : undefined;
  return {
    next(): Promise<IteratorResult<T>> {
      if (finished) {
        return Promise.resolve(DONE);
      }
      if (i < head.length) {
        return Promise.resolve({ done: false, value: head[i++] });
      }
      return source.next().then(onItem, onFailure);
    },
    async return(): Promise<IteratorResult<T>> {
      if (!finished) {
        finished = true;
        release();
        // Leaving early (client gone, dedup detach) must release the upstream call.
        await source.return?.(undefined);
      }
      return DONE;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
