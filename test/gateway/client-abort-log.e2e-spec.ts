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
    },
  );
});
