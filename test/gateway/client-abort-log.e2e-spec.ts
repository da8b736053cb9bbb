import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { randomUUID } from 'node:crypto';
import { eventually, startGateway, type GatewayUnderTest } from '../support/gateway';

/**
 * A client that gives up on a non-stream request is not a gateway failure: the log says so in one debug
 * line ("client closed the connection", status 499, as metrics count it), never "unhandled error" with a
 * stack (audit O-F13).
 */
describe('a client aborting a non-stream request', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway({ logLevel: 'debug', config: { Cache: { enabled: false } } });
  });
  afterAll(() => gw.stop());

  /** A request the fake holds long enough for the client to leave first. */
  const slow = () => `${randomUUID()} [[fake:${JSON.stringify({ firstByteDelayMs: 2000 })}]]`;

  it.each(['openai,gpt-fake', 'anthropic,claude-fake', 'gemini,gemini-fake'])(
    'through %s: logged as the client closing the connection, not as an unhandled error',
    async (model) => {
      const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'k', maxRetries: 0 });
      const anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'k', maxRetries: 0 });
      const before = gw.logs.lines.length;
      for (const send of [
        (signal: AbortSignal) =>
          openai.chat.completions.create(
            { model, messages: [{ role: 'user', content: slow() }] },
            { signal },
          ),
        (signal: AbortSignal) =>
          anthropic.messages.create(
            { model, max_tokens: 64, messages: [{ role: 'user', content: slow() }] },
            { signal },
          ),
      ]) {
        const ac = new AbortController();
        const seen = gw.fake.requests.length;
        const pending = send(ac.signal).catch((e: unknown) => e);
        await eventually(() => gw.fake.requests.length > seen); // the upstream call is under way
        ac.abort();
        expect(await pending).toBeInstanceOf(Error);
      }
      const closed = () =>
        gw.logs.records.slice(before).filter((r) => r.error === 'client closed the connection');
      await eventually(() => closed().length >= 2);
      // One debug line each, with the status the metrics count (499), no stack.
      expect(closed()).toEqual([
        expect.objectContaining({ level: 20, msg: 'request rejected', status: 499 }),
        expect.objectContaining({ level: 20, msg: 'request rejected', status: 499 }),
      ]);
      const recent = gw.logs.records.slice(before);
      expect(recent.filter((r) => r.msg === 'unhandled error')).toEqual([]);
      expect(recent.filter((r) => (r.level as number) >= 50)).toEqual([]);
      // The access lines say what metrics and history count: 499, the client left (not the route's 200 / 201).
      await eventually(() => accessLines(before).length >= 2);
      expect(accessLines(before)).toEqual([
        expect.objectContaining({
          level: 30,
          msg: 'POST /v1/chat/completions 499',
          res: { statusCode: 499 },
          clientAborted: true,
        }),
        expect.objectContaining({
          level: 30,
          msg: 'POST /v1/messages 499',
          res: { statusCode: 499 },
          clientAborted: true,
        }),
      ]);
    },
  );

  /** Access lines (pino-http's, with `req` and `res`) written since `from`. */
  const accessLines = (from: number) =>
    gw.logs.records.slice(from).filter((r) => r.req !== undefined && r.res !== undefined);

  it('a stream the client leaves: its access line keeps the 200 it was sent and says the client left', async () => {
    const anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'k', maxRetries: 0 });
    const before = gw.logs.lines.length;
    const ac = new AbortController();
    const stream = await anthropic.messages.create(
      {
        model: 'openai,gpt-fake',
        max_tokens: 64,
        stream: true,
        messages: [
          { role: 'user', content: `${randomUUID()} [[fake:${JSON.stringify({ chunkCount: 20, chunkGapMs: 200 })}]]` },
        ],
      },
      { signal: ac.signal },
    );
    let deltas = 0;
    await (async () => {
      for await (const ev of stream) {
        if (ev.type === 'content_block_delta') {
          deltas++;
          ac.abort(); // the SDK ends the iteration (or throws its abort error)
        }
      }
    })().catch(() => undefined);
    expect(deltas).toBe(1);
    await eventually(() => accessLines(before).length >= 1);
    expect(accessLines(before)).toEqual([
      expect.objectContaining({
        level: 30,
        msg: 'POST /v1/messages 200',
        res: { statusCode: 200 },
        clientAborted: true,
      }),
    ]);
  });

  it('a complete answer: no clientAborted on its access line', async () => {
    const anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'k', maxRetries: 0 });
    const before = gw.logs.lines.length;
    await anthropic.messages.create({
      model: 'openai,gpt-fake',
      max_tokens: 64,
      messages: [{ role: 'user', content: randomUUID() }],
    });
    await eventually(() => accessLines(before).length >= 1);
    const [line] = accessLines(before);
    expect(line).toMatchObject({ level: 30, msg: 'POST /v1/messages 200', res: { statusCode: 200 } });
    expect(line.clientAborted).toBeUndefined();
  });
});
