/** Raw HTTP for the compression specs: fetch would decode the body and hide the content-encoding. */
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export function openRaw(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers }, resolve);
    req.on('error', reject);
    req.end(opts.body);
  });
}

export async function rawRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  const res = await openRaw(url, opts);
  const parts: Buffer[] = [];
  for await (const chunk of res) {
    parts.push(chunk as Buffer);
  }
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) };
}

export function decoder(encoding: string | undefined): Transform {
  if (encoding === 'br') {
    return createBrotliDecompress();
  }
  if (encoding === 'gzip') {
    return createGunzip();
  }
  if (encoding === 'deflate') {
    return createInflate();
  }
  throw new Error(`no decoder for ${encoding}`);
}

/** A non-stream Anthropic request whose answer text is `textBytes` long (fake provider directive). */
export function messagesBody(textBytes: number, stream = false): string {
  return JSON.stringify({
    model: 'claude-sonnet-4-5',
    max_tokens: 1024,
    stream,
    messages: [{ role: 'user', content: `Say something [[fake:{"textBytes":${textBytes}}]]` }],
  });
}
