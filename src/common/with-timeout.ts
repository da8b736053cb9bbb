/**
 * Rejects after `ms` unless the promise settles first; the timer is always cleared. The timeout is
 * confirmed one poll phase after it comes due (a `setImmediate`): after this process's own loop was
 * blocked past the due time, a reply already sitting in a socket is read first and wins.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      immediate = setImmediate(() => reject(new Error(`${what} timed out after ${ms} ms`)));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
    if (immediate) {
      clearImmediate(immediate);
    }
  }
}
