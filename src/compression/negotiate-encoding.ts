/** Content codings Switchyard can produce (the `Compression.encodings` values). */
export type ContentEncoding = 'gzip' | 'br' | 'deflate';

/**
 * Picks the response coding for an `accept-encoding` header: the highest q-value wins, ties go to the
 * earlier entry of `preferred` (the configured order) — the same rule @fastify/compress applies to JSON
 * answers, so a client gets one coding for both its JSON and its SSE answers. `undefined` means identity.
 */
export function negotiateEncoding(
  header: string | string[] | undefined,
  preferred: readonly ContentEncoding[],
): ContentEncoding | undefined {
  const text = Array.isArray(header) ? header.join(',') : header;
  if (!text) {
    return undefined;
  }
  const q = new Map<string, number>();
  for (const part of text.toLowerCase().split(',')) {
    const [rawToken, ...params] = part.split(';').map((s) => s.trim());
    if (!rawToken) {
      continue;
    }
    // x-gzip is gzip's historical alias (RFC 9110 §8.4.1.3).
    const token = rawToken === 'x-gzip' ? 'gzip' : rawToken;
    let weight = 1;
    for (const param of params) {
      const m = /^q=([0-9.]+)$/.exec(param);
      if (m) {
        weight = Math.min(1, Number(m[1]) || 0);
      }
    }
    q.set(token, weight);
  }
  let best: ContentEncoding | undefined;
  let bestQ = 0;
  for (const encoding of preferred) {
    const weight = q.get(encoding) ?? q.get('*') ?? 0;
    if (weight > bestQ) {
      best = encoding;
      bestQ = weight;
    }
  }
  return best;
}
