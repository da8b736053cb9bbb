/**
 * How deep a request body may nest objects and arrays. Real bodies stay far below it (a Claude Code
 * request with its JSON schemas: ~15 levels); past it, the recursive code downstream (conversions, cache
 * keys, token counts) would overflow the stack on a hostile body.
 */
export const MAX_BODY_DEPTH = 64;

/** Segments of the path shown in an error: enough to name the field, not the whole hostile chain. */
const SHOWN_SEGMENTS = 6;

interface Frame {
  value: object;
  depth: number;
  key: string | number | undefined;
  parent: Frame | undefined;
}

function pathOf(frame: Frame): { path: string; truncated: boolean } {
  const keys: (string | number)[] = [];
  for (let f: Frame | undefined = frame; f?.key !== undefined; f = f.parent) {
    keys.push(f.key);
  }
  keys.reverse();
  const shown = keys.slice(0, SHOWN_SEGMENTS);
  const path = shown
    .map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`))
    .join('')
    .replace(/^\./, '');
  return { path, truncated: keys.length > shown.length };
}

/**
 * The first object or array nested more than `max` levels below the body, as a path (`metadata.x[0][0]`,
 * cut after a few segments), or undefined. Iterative on purpose: the check itself must survive the
 * 100,000-level body it exists to refuse.
 */
export function tooDeep(
  body: unknown,
  max = MAX_BODY_DEPTH,
): { path: string; truncated: boolean } | undefined {
  if (typeof body !== 'object' || body === null) {
    return undefined;
  }
  const stack: Frame[] = [{ value: body, depth: 0, key: undefined, parent: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop() as Frame;
    if (frame.depth > max) {
      return pathOf(frame);
    }
    const { value } = frame;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const child: unknown = value[i];
        if (typeof child === 'object' && child !== null) {
          stack.push({ value: child, depth: frame.depth + 1, key: i, parent: frame });
        }
      }
      continue;
    }
    for (const key in value) {
      const child: unknown = (value as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null) {
        stack.push({ value: child, depth: frame.depth + 1, key, parent: frame });
      }
    }
  }
  return undefined;
}
