import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { CompressionStatsService } from '../../src/compression/compression-stats.service';
import { startGateway, type GatewayUnderTest } from '../support/gateway';
import { messagesBody, rawRequest } from './raw-http';

const JSON_HEADERS = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };

/** The answer without the fields that differ per call. */
const stable = (body: Buffer): unknown => {
  const { id: _id, ...rest } = JSON.parse(body.toString('utf8'));
  return rest;
};

describe('response compression (Compression section)', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw.stop();
  });

  const post = (headers: Record<string, string>, textBytes = 20_000, stream = false) =>
    rawRequest(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { ...JSON_HEADERS, ...headers },
      body: messagesBody(textBytes, stream),
    });

  it('compresses a large JSON answer with br and gzip, both decoding to the uncompressed body', async () => {
    const plain = await post({});
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.length).toBeGreaterThan(20_000);

    const br = await post({ 'accept-encoding': 'br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers.vary).toMatch(/accept-encoding/);
    expect(br.body.length).toBeLessThan(plain.body.length / 4);
    expect(stable(brotliDecompressSync(br.body))).toEqual(stable(plain.body));

    const gzip = await post({ 'accept-encoding': 'gzip' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(stable(gunzipSync(gzip.body))).toEqual(stable(plain.body));
  });

  it('prefers the configured order on equal q-values and honours the client q-values', async () => {
    expect((await post({ 'accept-encoding': 'br, gzip' })).headers['content-encoding']).toBe('gzip');
    expect((await post({ 'accept-encoding': 'gzip;q=0.5, br' })).headers['content-encoding']).toBe('br');
    expect((await post({ 'accept-encoding': 'identity' })).headers['content-encoding']).toBeUndefined();
  });

  it('leaves an answer below Compression.threshold (1024 B) uncompressed', async () => {
    const small = await post({ 'accept-encoding': 'gzip, br' }, 20);
    expect(small.status).toBe(200);
    expect(small.body.length).toBeLessThan(1024);
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(small.body.toString('utf8')).type).toBe('message');
  });

  it('leaves SSE untouched by default, even when the client accepts gzip and br', async () => {
    const sse = await post({ 'accept-encoding': 'gzip, br' }, 20_000, true);
    expect(sse.status).toBe(200);
    expect(sse.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(sse.headers['content-encoding']).toBeUndefined();
    const text = sse.body.toString('utf8');
    expect(text).toContain('event: message_start');
    expect(text).toContain('event: message_stop');
  });

  it('counts bytes before and after compression per encoding', async () => {
    const stats = gw.app.get(CompressionStatsService);
    const before = stats.snapshot();
    await post({ 'accept-encoding': 'br' });
    await post({ 'accept-encoding': 'gzip' });
    await post({ 'accept-encoding': 'gzip' }, 20); // below the threshold: not counted
    const after = stats.snapshot();
    expect(after.byEncoding.br.responses - before.byEncoding.br.responses).toBe(1);
    expect(after.byEncoding.gzip.responses - before.byEncoding.gzip.responses).toBe(1);
    const raw = after.rawBytes - before.rawBytes;
    const compressed = after.compressedBytes - before.compressedBytes;
    expect(raw).toBeGreaterThan(40_000);
    expect(compressed).toBeGreaterThan(0);
    expect(compressed).toBeLessThan(raw / 4);
    expect(after.ratio).toBeGreaterThan(4);
    expect(after.streams).toBe(0);
  });
});

describe('Compression.enabled false', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway({ config: { Compression: { enabled: false } } });
  });
  afterAll(async () => {
    await gw.stop();
  });

  it('compresses nothing', async () => {
    const res = await rawRequest(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { ...JSON_HEADERS, 'accept-encoding': 'gzip, br' },
      body: messagesBody(20_000),
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(res.body.toString('utf8')).type).toBe('message');
    expect(gw.app.get(CompressionStatsService).snapshot().responses).toBe(0);
  });
});
