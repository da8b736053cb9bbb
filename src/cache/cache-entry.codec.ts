import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants, gunzip, gzip } from 'node:zlib';
import type { SwitchyardConfig } from '../config/config.schema';
import { isResumedAnswer } from '../failover/stream-resume';
import type { StreamEvent } from '../protocol/types';

/** What a cache entry holds: the canonical event log of one complete answer (ARCHITECTURE.md §1). */
export interface CacheEntry {
  v: 1;
  target: string;
  storedAt: number;
  events: StreamEvent[];
}

export type EntryEncoding = 'br' | 'gzip' | 'identity';

export interface EntryCodec {
  encoding: EntryEncoding;
  level: number;
}

/**
 * One leading byte names the compression, so an instance can read entries written by another instance
 * configured differently (rolling config changes, mixed fleets) instead of failing to decode them.
 */
const TAG: Record<EntryEncoding, number> = { identity: 0, gzip: 1, br: 2 };

const brotli = promisify(brotliCompress);
const unbrotli = promisify(brotliDecompress);
const gz = promisify(gzip);
const ungz = promisify(gunzip);

const clamp = (n: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, n));

/** The first of `Compression.encodings` that is br or gzip, at `Compression.level` clamped to its range. */
export function codecFor(compression: SwitchyardConfig['Compression']): EntryCodec {
  if (!compression.enabled) {
    return { encoding: 'identity', level: 0 };
  }
  const encoding =
    compression.encodings.find((e): e is 'br' | 'gzip' => e === 'br' || e === 'gzip') ?? 'gzip';
  const level =
    encoding === 'br'
      ? clamp(compression.level, constants.BROTLI_MIN_QUALITY, constants.BROTLI_MAX_QUALITY)
      : clamp(compression.level, 0, 9);
  return { encoding, level };
}

export interface EncodedEntry {
  data: Buffer;
  rawBytes: number;
}

/** JSON, then compressed on the libuv thread pool (async zlib), never on the event loop. */
export async function encodeEntry(entry: CacheEntry, codec: EntryCodec): Promise<EncodedEntry> {
  const raw = Buffer.from(JSON.stringify(entry));
  let body: Buffer;
  switch (codec.encoding) {
    case 'br':
      body = await brotli(raw, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: codec.level,
          [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
          [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
        },
      });
      break;
    case 'gzip':
      body = await gz(raw, { level: codec.level });
      break;
    case 'identity':
      body = raw;
      break;
  }
  return { data: Buffer.concat([Buffer.of(TAG[codec.encoding]), body]), rawBytes: raw.length };
}

export async function decodeEntry(data: Buffer): Promise<CacheEntry> {
  return (await decodeEntrySized(data)).entry;
}

/** The entry and the size of its JSON (what it occupies once decoded, roughly). */
export async function decodeEntrySized(data: Buffer): Promise<{ entry: CacheEntry; rawBytes: number }> {
  const body = data.subarray(1);
  let raw: Buffer;
  switch (data[0]) {
    case TAG.br:
      raw = await unbrotli(body);
      break;
    case TAG.gzip:
      raw = await ungz(body);
      break;
    case TAG.identity:
      raw = body;
      break;
    default:
      throw new Error(`unknown cache entry encoding tag ${data[0]}`);
  }
  const entry = JSON.parse(raw.toString('utf8')) as CacheEntry;
  if (entry?.v !== 1 || !Array.isArray(entry.events) || typeof entry.target !== 'string') {
    throw new Error('not a v1 cache entry');
  }
  return { entry, rawBytes: raw.length };
}

/**
 * Why a log must not be stored, or undefined when it may be. Only complete, successful answers are kept:
 * message_start first, message_stop last, every block closed, no error event, and a final stop_reason the
 * configuration allows — never an error, a cut stream, an aborted request or a partial answer. A resumed answer
 * (spliced from two upstream answers, docs/failover.md#stream-resume) is not one answer to replay either.
 */
export function refusalReason(
  events: readonly StreamEvent[],
  allowedStopReasons: readonly string[],
): string | undefined {
  const log: readonly StreamEvent[] = events.filter((e) => e.type !== 'ping');
  if (log.length === 0) {
    return 'empty log';
  }
  if (log[0].type !== 'message_start') {
    return 'does not start with message_start';
  }
  if (log[log.length - 1].type !== 'message_stop') {
    return 'incomplete: no message_stop';
  }
  const open = new Set<number>();
  let stopReason: string | null | undefined;
  for (let i = 0; i < log.length; i++) {
    const ev = log[i];
    switch (ev.type) {
      case 'error':
        return `error event: ${ev.error.type}`;
      case 'message_start':
        if (i !== 0) {
          return 'more than one message_start';
        }
        break;
      case 'content_block_start':
        open.add(ev.index);
        break;
      case 'content_block_stop':
        open.delete(ev.index);
        break;
      case 'message_delta':
        stopReason = ev.delta.stop_reason ?? stopReason;
        break;
      case 'message_stop':
        if (i !== log.length - 1) {
          return 'events after message_stop';
        }
        if (isResumedAnswer(ev)) {
          return 'resumed answer';
        }
        break;
      case 'content_block_delta':
      case 'ping':
        break;
    }
  }
  if (open.size > 0) {
    return 'unterminated content block';
  }
  if (!stopReason) {
    return 'no stop_reason';
  }
  return allowedStopReasons.includes(stopReason) ? undefined : `stop_reason ${stopReason} is not stored`;
}
