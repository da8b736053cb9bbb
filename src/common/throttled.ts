/** At most one call per `everyMs`; the next one is told how many were dropped in between. */
export function throttled(
  everyMs: number,
  fn: (msg: string, suppressed: number) => void,
): (msg: string) => void {
  let last = -Infinity;
  let suppressed = 0;
  return (msg) => {
    const now = Date.now();
    if (now - last < everyMs) {
      suppressed += 1;
      return;
    }
    last = now;
    fn(msg, suppressed);
    suppressed = 0;
  };
}
