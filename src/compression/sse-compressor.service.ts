import { Injectable } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { pipeline, type Writable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { SwitchyardConfig } from '../config/config.schema';
import { AppConfigService } from '../config/config.service';
import { CompressionStatsService } from './compression-stats.service';
import { createSseCompressor } from './compressors';
import { negotiateEncoding, type ContentEncoding } from './negotiate-encoding';

/**
 * Where the SSE egress writer puts its bytes once it has hijacked the reply. Either the raw response
 * itself or a flush-per-write compressor piped into it; the writer treats both the same way.
 */
export interface SseSink {
  /** The coding applied, or undefined when the stream goes out as is. */
  readonly encoding: ContentEncoding | undefined;
  /** Merge into `res.writeHead` last: `content-encoding` and `vary` (the latter merged with the reply's). */
  readonly headers: Record<string, string>;
  /** Write each event here; on `false` wait for this stream's 'drain' (or the response's 'close'). */
  readonly stream: Writable;
  /** Ends the response — after the compressor's trailer when compressing. Safe to call twice. */
  end(): void;
}

/** The identity sink: the response itself. */
export function plainSseSink(res: ServerResponse): SseSink {
  return {
    encoding: undefined,
    headers: {},
    stream: res,
    end: () => {
      if (!res.writableEnded && !res.destroyed) {
        res.end();
      }
    },
  };
}

/**
 * SSE compression (`Compression.streams`). @fastify/compress never sees SSE: the gateway hijacks the reply
 * and writes reply.raw itself, so the compressor is put between the writer and the socket here.
 */
@Injectable()
export class SseCompressor {
  constructor(
    private readonly config: AppConfigService,
    private readonly stats: CompressionStatsService,
  ) {}

  /** Read per use: `Compression.streams` follows config reloads (the other keys are restart-only). */
  private get compression(): SwitchyardConfig['Compression'] {
    return this.config.get('Compression');
  }

  /** True when SSE answers may be compressed at all. */
  get enabled(): boolean {
    return this.compression.enabled && this.compression.streams;
  }

  /**
   * Returns the sink for this reply's SSE body. Call after `reply.hijack()` and before `res.writeHead`,
   * and merge `sink.headers` into the head.
   */
  maybeCompressSse(reply: FastifyReply, acceptEncoding: string | string[] | undefined): SseSink {
    const res = reply.raw;
    if (!this.enabled) {
      return plainSseSink(res);
    }
    const vary = mergeVary(reply.getHeader('vary'));
    const encoding = negotiateEncoding(acceptEncoding, this.compression.encodings);
    if (!encoding) {
      return { ...plainSseSink(res), headers: { vary } };
    }
    const compressor = createSseCompressor(encoding, this.compression, this.stats);
    // pipeline ends the response after the trailer and destroys the compressor when the client leaves;
    // the writer sees the latter as res.destroyed, so the callback has nothing left to report.
    pipeline(compressor, res, () => undefined);
    return {
      encoding,
      headers: { 'content-encoding': encoding, vary },
      stream: compressor,
      end: () => {
        if (!compressor.writableEnded && !compressor.destroyed) {
          compressor.end();
        }
      },
    };
  }
}

function mergeVary(current: string | number | string[] | undefined): string {
  const values = (Array.isArray(current) ? current : current === undefined ? [] : [String(current)])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  if (!values.some((v) => v.toLowerCase() === 'accept-encoding')) {
    values.push('accept-encoding');
  }
  return values.join(', ');
}
