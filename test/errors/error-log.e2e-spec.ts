import { Controller, Get, Module } from '@nestjs/common';
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/test-app';

@Controller('test')
class FailingController {
  @Get('boom')
  boom(): never {
    throw new Error('boom from a controller');
  }
}

@Module({ controllers: [FailingController] })
class FailingModule {}

/** The error filter's lines carry the request id once: from the request logger's bindings, not twice. */
describe('error log lines', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      imports: [FailingModule],
      logLevel: 'debug',
      userConfig: { Server: { bodyLimit: 1024 } },
    });
  });
  afterAll(() => t.close());

  const cases: Array<[string, (id: string) => request.Test, string]> = [
    [
      'an unknown route (404)',
      (id) => request(t.url).get('/v1/nope').set('x-request-id', id),
      'request rejected',
    ],
    [
      'invalid JSON (Fastify body parser)',
      (id) =>
        request(t.url)
          .post('/v1/messages')
          .set('x-request-id', id)
          .set('content-type', 'application/json')
          .send('{"model":'),
      'request rejected',
    ],
    [
      'a body over Server.bodyLimit',
      (id) =>
        request(t.url)
          .post('/v1/messages')
          .set('x-request-id', id)
          .set('content-type', 'application/json')
          .send(JSON.stringify({ pad: 'x'.repeat(4096) })),
      'request rejected',
    ],
    [
      'a request the gateway rejects (400)',
      (id) => request(t.url).post('/v1/messages').set('x-request-id', id).send({ model: 'x' }),
      'request rejected',
    ],
    [
      'a probe route, which has no request logger (405)',
      (id) => request(t.url).delete('/health/live').set('x-request-id', id),
      'request rejected',
    ],
    [
      'an unexpected error (500)',
      (id) => request(t.url).get('/test/boom').set('x-request-id', id),
      'unhandled error',
    ],
  ];

  it.each(cases)('%s', async (_name, send, msg) => {
    const id = `err-log-${Math.random().toString(36).slice(2)}`;
    const res = await send(id);
    expect(res.headers['x-request-id']).toBe(id);
    const lines = t.logs.lines.filter((line) => line.includes(`"msg":"${msg}"`) && line.includes(id));
    expect(lines).toHaveLength(1);
    expect(lines[0].match(/"requestId":/g)).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ requestId: id, context: 'errors' });
  });
});
