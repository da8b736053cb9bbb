import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startGateway, type GatewayUnderTest } from '../support/gateway';

const ask = (text: string) => ({
  model: 'openai,gpt-fake',
  max_tokens: 8,
  messages: [{ role: 'user' as const, content: text }],
});

/** PROTOCOL.md §1.1: the Anthropic SDKs expose the `request-id` response header; x-request-id stays too. */
describe('request-id on every answer', () => {
  let gw: GatewayUnderTest;
  let client: Anthropic;
  beforeAll(async () => {
    gw = await startGateway();
    client = new Anthropic({ baseURL: gw.url, apiKey: 'k', maxRetries: 0 });
  });
  afterAll(() => gw.stop());

  it('a message: _request_id and .withResponse() request_id', async () => {
    const { data, response, request_id } = await client.messages.create(ask('request id')).withResponse();
    expect(request_id).toEqual(expect.any(String));
    expect(response.headers.get('request-id')).toBe(request_id);
    expect(response.headers.get('x-request-id')).toBe(request_id);
    expect((data as { _request_id?: string | null })._request_id).toBe(request_id);
  });

  it('a stream: .withResponse() request_id', async () => {
    const { data: stream, request_id } = await client.messages
      .create({ ...ask('request id stream'), stream: true })
      .withResponse();
    for await (const _event of stream) {
      // drain
    }
    expect(request_id).toEqual(expect.any(String));
  });

  it.each([
    ['an unknown model (404)', { ...ask('x'), model: 'nowhere,m' }, Anthropic.NotFoundError],
    ['an invalid body (400)', { ...ask('x'), max_tokens: 0 }, Anthropic.BadRequestError],
  ])('an error, %s: error.requestID is the request_id of the body', async (_name, params, errorClass) => {
    const err = await client.messages.create(params).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(errorClass);
    const e = err as InstanceType<typeof Anthropic.APIError>;
    expect(e.requestID).toEqual(expect.any(String));
    expect((e.error as { request_id?: string }).request_id).toBe(e.requestID);
    expect(e.headers?.get('x-request-id')).toBe(e.requestID);
  });

  it("the client's own x-request-id is echoed in both headers", async () => {
    const res = await fetch(`${gw.url}/v1/models/nope`, { headers: { 'x-request-id': 'client-id-123' } });
    expect(res.headers.get('request-id')).toBe('client-id-123');
    expect(res.headers.get('x-request-id')).toBe('client-id-123');
    const probe = await fetch(`${gw.url}/health/live`);
    expect(probe.headers.get('request-id')).toBe(probe.headers.get('x-request-id'));
  });

  it('the OpenAI SDK reads x-request-id: _request_id is set', async () => {
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'k', maxRetries: 0 });
    const res = await openai.chat.completions.create({
      model: 'openai,gpt-fake',
      messages: ask('oa').messages,
    });
    expect(res._request_id).toEqual(expect.any(String));
  });
});
