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
  return passThrough(rest, head);
}

/** `source`'s items unchanged; `observe` sees each one before the consumer does. */
export function tapEach<T>(source: AsyncIterator<T>, observe: (item: T) => void): EventIterator<T> {
  return passThrough(source, [], observe);
}

function passThrough<T>(source: AsyncIterator<T>, head: readonly T[], observe?: (item: T) => void): EventIterator<T> {
  let i = 0;
  let finished = false;
  const markFinished = (): void => {
    finished = true;
  };
  return {
    next(): Promise<IteratorResult<T>> {
      if (finished) {
        return Promise.resolve(DONE);
      }
      if (i < head.length) {
        return Promise.resolve({ done: false, value: head[i++] });
      }
      return source.next().then((r) => {
        if (r.done) {
          return closeBelow(source, r, markFinished);
        }
        observe?.(r.value);
        return r;
      });
    },
    async return(): Promise<IteratorResult<T>> {
      if (!finished) {
        finished = true;
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
