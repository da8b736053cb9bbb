import { randomUUID } from 'node:crypto';
import { SseParser } from '../../src/protocol/sse';
import { CompressionStatsService } from '../../src/compression/compression-stats.service';
import { startGateway, type GatewayUnderTest } from '../support/gateway';
import { decoder, openRaw } from './raw-http';

const GAP_MS = 150;
const CHUNKS = 5;

/**
 * A streamed Anthropic request whose deltas the fake paces GAP_MS apart. The nonce keeps the response
 * cache and request coalescing out of the way: each call must be a live upstream stream.
 */
const body = (): string =>
  JSON.stringify({
    model: 'claude-sonnet-4-5',
    max_tokens: 1024,
    stream: true,
    messages: [
      {
        role: 'user',
        content: `Go ${randomUUID()} [[fake:{"textBytes":3000,"chunkCount":${CHUNKS},"chunkGapMs":${GAP_MS}}]]`,
      },
    ],
  });

interface Arrival {
  event: string | undefined;
  at: number;
}

/** Reads the SSE answer, decoding it as it arrives, and notes when each event became readable. */
async function readStream(gw: GatewayUnderTest, acceptEncoding?: string) {
  const res = await openRaw(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(acceptEncoding ? { 'accept-encoding': acceptEncoding } : {}),
    },
    body: body(),
  });
  const encoding = res.headers['content-encoding'];
  const source = encoding ? res.pipe(decoder(encoding)) : res;
  const parser = new SseParser();
  const arrivals: Arrival[] = [];
  const data: string[] = [];
  for await (const chunk of source) {
    for (const m of parser.push(chunk as Buffer)) {
      arrivals.push({ event: m.event, at: Date.now() });
      data.push(m.data);
    }
  }
  return { headers: res.headers, arrivals, data };
}

/** What must not depend on the coding: the event sequence and the answer text. */
const stable = (data: string[]): { types: string[]; text: string } => {
  const events = data.map((d) => JSON.parse(d));
  return {
    types: events.map((e) => e.type),
    text: events.map((e) => e.delta?.text ?? '').join(''),
  };
};

describe('gateway SSE with Compression.streams: true', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway({ config: { Compression: { streams: true } } });
  });
  afterAll(async () => {
    await gw.stop();
  });

  it.each(['gzip', 'br'])('%s: events decode one by one while the stream is open', async (enc) => {
    const plain = await readStream(gw);
    expect(plain.headers['content-encoding']).toBeUndefined();

    const packed = await readStream(gw, enc);
    expect(packed.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(packed.headers['content-encoding']).toBe(enc);
    expect(stable(plain.data).text.length).toBeGreaterThanOrEqual(3000);
    expect(stable(packed.data)).toEqual(stable(plain.data));
    // Without a flush per event the deltas would arrive together at the end of the stream.
    const deltas = packed.arrivals.filter((a) => a.event === 'content_block_delta');
    expect(deltas.length).toBe(CHUNKS);
    const stop = packed.arrivals.find((a) => a.event === 'message_stop')!;
    expect(stop.at - deltas[0].at).toBeGreaterThanOrEqual((CHUNKS - 2) * GAP_MS);
  });

  it('counts the compressed streams', () => {
    const s = gw.app.get(CompressionStatsService).snapshot();
    expect(s.streams).toBe(2);
    expect(s.byEncoding.gzip.responses + s.byEncoding.br.responses).toBe(2);
    expect(s.compressedBytes).toBeLessThan(s.rawBytes);
  });
});
