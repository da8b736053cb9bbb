import { Injectable } from '@nestjs/common';
import type { ContentEncoding } from './negotiate-encoding';

export interface EncodingCounters {
  responses: number;
  rawBytes: number;
  compressedBytes: number;
}

/** What `/api/stats` shows about response compression. */
export interface CompressionStatsSnapshot {
  /** Compressed answers (JSON bodies and SSE streams). */
  responses: number;
  /** SSE streams among them (`Compression.streams`). */
  streams: number;
  rawBytes: number;
  compressedBytes: number;
  /** rawBytes / compressedBytes (4 = a quarter of the bytes on the wire); 1 before anything is compressed. */
  ratio: number;
  savedBytes: number;
  byEncoding: Record<ContentEncoding, EncodingCounters>;
}

/**
 * Bytes before and after compression, counted at the compressor itself (input consumed, output pushed), so
 * the numbers hold whichever hooks ran before it and whether the client read the whole answer or not.
 * Memory is fixed: one counter per encoding.
 */
@Injectable()
export class CompressionStatsService {
  private readonly counters: Record<ContentEncoding, EncodingCounters> = {
    gzip: { responses: 0, rawBytes: 0, compressedBytes: 0 },
    br: { responses: 0, rawBytes: 0, compressedBytes: 0 },
    deflate: { responses: 0, rawBytes: 0, compressedBytes: 0 },
  };
  private streams = 0;

  record(encoding: ContentEncoding, rawBytes: number, compressedBytes: number, stream = false): void {
    const c = this.counters[encoding];
    c.responses++;
    c.rawBytes += rawBytes;
    c.compressedBytes += compressedBytes;
    if (stream) {
      this.streams++;
    }
  }

  snapshot(): CompressionStatsSnapshot {
    let responses = 0;
    let rawBytes = 0;
    let compressedBytes = 0;
    const byEncoding = {} as Record<ContentEncoding, EncodingCounters>;
    for (const [encoding, c] of Object.entries(this.counters) as Array<[ContentEncoding, EncodingCounters]>) {
      responses += c.responses;
      rawBytes += c.rawBytes;
      compressedBytes += c.compressedBytes;
      byEncoding[encoding] = { ...c };
    }
    return {
      responses,
      streams: this.streams,
      rawBytes,
      compressedBytes,
      ratio: compressedBytes > 0 ? Math.round((rawBytes / compressedBytes) * 100) / 100 : 1,
      savedBytes: rawBytes - compressedBytes,
      byEncoding,
    };
  }
}
