/**
 * Memoises a pure function of one string (URL builders asked on every request with a handful of
 * distinct inputs). Bounded: past `max` distinct inputs the memo starts over, so config reloads with
 * ever-new values cannot grow it.
 */
export function memoByString<T>(fn: (s: string) => T, max = 256): (s: string) => T {
  const memo = new Map<string, T>();
  return (s: string): T => {
    let v = memo.get(s);
    if (v === undefined) {
      v = fn(s);
      if (memo.size >= max) {
        memo.clear();
      }
      memo.set(s, v);
    }
    return v;
  };
}
