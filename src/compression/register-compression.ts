import fastifyCompress, { type FastifyCompressOptions } from '@fastify/compress';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { SwitchyardConfig } from '../config/config.schema';
import { AppConfigService } from '../config/config.service';
import { CompressionStatsService } from './compression-stats.service';
import { brotliOptions, countingZlib, zlibOptions } from './compressors';

/** @fastify/compress options for the `Compression` section. */
export function compressOptions(
  c: SwitchyardConfig['Compression'],
  stats: CompressionStatsService,
): FastifyCompressOptions {
  return {
    global: true,
    threshold: c.threshold,
    // Order is preference: on equal q-values the client gets the first configured coding.
    encodings: c.encodings,
    zlibOptions: zlibOptions(c),
    brotliOptions: brotliOptions(c),
    zlib: countingZlib(stats),
    // Request bodies stay as they are: no client of ours compresses them, and the plugin would answer
    // 415 to any coding it does not know where today the body is simply parsed.
    globalDecompression: false,
    // The default type filter already skips text/event-stream; hijacked SSE replies never reach onSend
    // anyway and are compressed by SseCompressor when Compression.streams is on.
  };
}

/**
 * Registers @fastify/compress for every JSON answer. Must run before app.init(): the plugin attaches its
 * hooks to routes as they are declared (onRoute), and Nest declares them during init.
 */
export async function registerCompression(app: NestFastifyApplication): Promise<void> {
  const config = app.get(AppConfigService).get('Compression');
  if (!config.enabled) {
    return;
  }
  await app.register(fastifyCompress, compressOptions(config, app.get(CompressionStatsService)));
}
