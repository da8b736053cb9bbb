import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import type { CompressionStatsService } from './compression-stats.service';
import type { ContentEncoding } from './negotiate-encoding';

export interface CompressionLevel {
  /** `Compression.level`: the zlib level for gzip/deflate (0–9), the brotli quality (0–11). */
  level: number;
}

const clamp = (n: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, Math.round(n)));

export function zlibOptions({ level }: CompressionLevel): zlib.ZlibOptions {
  return { level: clamp(level, 0, 9) };
}

export function brotliOptions({ level }: CompressionLevel): zlib.BrotliOptions {
  return {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: clamp(level, 0, 11),
      [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
    },
  };
}

/**
 * Makes a compressor report its bytes to the stats when it closes (ended or destroyed). Output is counted
 * where the stream pushes it: a 'data' listener would switch the stream to flowing mode and steal chunks
 * from @fastify/compress's peek stream, which pulls with read().
 */
export function counted<T extends Transform & { bytesWritten: number }>(
  stream: T,
  encoding: ContentEncoding,
  stats: CompressionStatsService,
  sse = false,
): T {
  let out = 0;
  const push = stream.push.bind(stream);
  stream.push = (chunk: unknown, enc?: BufferEncoding): boolean => {
    if (chunk !== null && chunk !== undefined) {
      out += (chunk as Buffer).length;
    }
    return push(chunk, enc);
  };
  // 'end' comes before the response ends (so a client that read the answer sees it counted); 'close'
  // alone covers a compressor destroyed by a client that left early.
  let recorded = false;
  const record = (): void => {
    if (!recorded) {
      recorded = true;
      stats.record(encoding, stream.bytesWritten, out, sse);
    }
  };
  stream.once('end', record);
  stream.once('close', record);
  return stream;
}

/**
 * The `zlib` option of @fastify/compress: node's factories, each compressor counted. The plugin calls
 * createGzip(zlibOptions) / createBrotliCompress(brotliOptions) with the options we passed it.
 */
export function countingZlib(stats: CompressionStatsService): Record<string, unknown> {
  return {
    createGzip: (o?: zlib.ZlibOptions) => counted(zlib.createGzip(o), 'gzip', stats),
    createDeflate: (o?: zlib.ZlibOptions) => counted(zlib.createDeflate(o), 'deflate', stats),
    createBrotliCompress: (o?: zlib.BrotliOptions) => counted(zlib.createBrotliCompress(o), 'br', stats),
  };
}

/**
 * A compressor for SSE that flushes after every write (Z_SYNC_FLUSH / BROTLI_OPERATION_FLUSH), so each
 * event reaches the client decodable on its own instead of waiting in the compressor's window. The
 * brotli window is kept at 256 KiB: the default 4 MiB per open stream would cost gigabytes at c=256.
 */
export function createSseCompressor(
  encoding: ContentEncoding,
  level: CompressionLevel,
  stats: CompressionStatsService,
): Transform & { bytesWritten: number } {
  switch (encoding) {
    case 'br': {
      const opts = brotliOptions(level);
      opts.params![zlib.constants.BROTLI_PARAM_LGWIN] = 18;
      return counted(
        zlib.createBrotliCompress({ ...opts, flush: zlib.constants.BROTLI_OPERATION_FLUSH }),
        'br',
        stats,
        true,
      );
    }
    case 'gzip':
      return counted(
        zlib.createGzip({ ...zlibOptions(level), flush: zlib.constants.Z_SYNC_FLUSH }),
        'gzip',
        stats,
        true,
      );
    case 'deflate':
      return counted(
        zlib.createDeflate({ ...zlibOptions(level), flush: zlib.constants.Z_SYNC_FLUSH }),
        'deflate',
        stats,
        true,
      );
  }
}
