import Fastify, { type FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompressionStatsService } from '../../src/compression/compression-stats.service';
import type { ContentEncoding } from '../../src/compression/negotiate-encoding';
import { SseCompressor } from '../../src/compression/sse-compressor.service';
import type { AppConfigService } from '../../src/config/config.service';
import { eventually } from '../support/gateway';
import { decoder, openRaw } from './raw-http';

const EVENTS = 5;
const frame = (i: number): string => `event: tick\ndata: {"i":${i},"pad":"${'x'.repeat(200)}"}\n\n`;

function compressorFor(streams: boolean, stats: CompressionStatsService): SseCompressor {
  const section = { enabled: true, threshold: 1024, level: 6, encodings: ['gzip', 'br'], streams };
  return new SseCompressor({ get: () => section } as unknown as AppConfigService, stats);
}

/**
 * The egress writer's pattern (hijack, writeHead, one write per event, end) on a real Fastify server;
 * each event is written only when the test releases it, so the client must decode it before the next.
 */
async function sseServer(compressor: SseCompressor) {
  const releases: Array<() => void> = [];
  const gates = Array.from({ length: EVENTS }, () => new Promise<void>((r) => releases.push(r)));
  const app: FastifyInstance = Fastify();
  let sinkStream: { destroyed: boolean } | undefined;
  app.get('/sse', async (request, reply) => {
    reply.hijack();
    const sink = compressor.maybeCompressSse(reply, request.headers['accept-encoding']);
    sinkStream = sink.stream;
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      ...sink.headers,
    });
    for (let i = 0; i < EVENTS; i++) {
      await gates[i];
      if (reply.raw.destroyed) {
        break;
      }
      sink.stream.write(frame(i));
    }
    sink.end();
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sse`,
    release: (i: number) => releases[i](),
    releaseAll: () => releases.forEach((r) => r()),
    sinkDestroyed: () => sinkStream?.destroyed === true,
    close: () => app.close(),
  };
}

describe('SSE compression (Compression.streams)', () => {
  let stats: CompressionStatsService;
  let server: Awaited<ReturnType<typeof sseServer>>;
  afterEach(async () => {
    server.releaseAll();
    await server.close();
  });

  it.each<ContentEncoding>(['gzip', 'br'])(
    '%s: every event decodes as soon as it is written',
    async (enc) => {
      stats = new CompressionStatsService();
      server = await sseServer(compressorFor(true, stats));
      // Node sends the head with the first body bytes, as the writer does with its first event.
      const opened = openRaw(server.url, { headers: { 'accept-encoding': enc } });
      server.release(0);
      const res: IncomingMessage = await opened;
      expect(res.headers['content-encoding']).toBe(enc);
      expect(res.headers.vary).toBe('accept-encoding');
      let decoded = '';
      let wire = 0;
      res.on('data', (c: Buffer) => (wire += c.length));
      const ended = new Promise<void>((resolve) =>
        res
          .pipe(decoder(enc))
          .on('data', (c: Buffer) => (decoded += c.toString('utf8')))
          .on('end', resolve),
      );
      for (let i = 0; i < EVENTS; i++) {
        if (i > 0) {
          server.release(i);
        }
        // The stream is still open and the next event not yet written: only a flush can have delivered it.
        await eventually(() => decoded.endsWith(frame(i)), 2000);
        expect(decoded).toBe(Array.from({ length: i + 1 }, (_, k) => frame(k)).join(''));
      }
      await ended;
      const s = stats.snapshot();
      expect(s).toMatchObject({ responses: 1, streams: 1, rawBytes: decoded.length });
      expect(s.byEncoding[enc]).toMatchObject({ responses: 1, compressedBytes: wire });
      expect(wire).toBeLessThan(decoded.length);
    },
  );

  it('sends identity (with vary) to a client that accepts no configured coding', async () => {
    stats = new CompressionStatsService();
    server = await sseServer(compressorFor(true, stats));
    server.releaseAll();
    const res = await openRaw(server.url, { headers: { 'accept-encoding': 'zstd' } });
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers.vary).toBe('accept-encoding');
    let text = '';
    for await (const c of res) {
      text += String(c);
    }
    expect(text).toBe(Array.from({ length: EVENTS }, (_, k) => frame(k)).join(''));
    expect(stats.snapshot().responses).toBe(0);
  });

  it('is a no-op when Compression.streams is false', async () => {
    stats = new CompressionStatsService();
    server = await sseServer(compressorFor(false, stats));
    server.releaseAll();
    const res = await openRaw(server.url, { headers: { 'accept-encoding': 'gzip, br' } });
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers.vary).toBeUndefined();
    res.resume();
    await new Promise((r) => res.on('end', r));
  });

  it('tears the compressor down when the client leaves mid-stream', async () => {
    stats = new CompressionStatsService();
    server = await sseServer(compressorFor(true, stats));
    const opened = openRaw(server.url, { headers: { 'accept-encoding': 'gzip' } });
    server.release(0);
    const res = await opened;
    await new Promise((r) => res.once('data', r));
    res.destroy();
    await eventually(() => server.sinkDestroyed(), 2000);
    server.releaseAll();
    await eventually(() => stats.snapshot().streams === 1, 2000);
  });
});
