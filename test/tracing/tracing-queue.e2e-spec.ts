import Anthropic from '@anthropic-ai/sdk';
import { Global, Module } from '@nestjs/common';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { startFakeProvider, type FakeProvider } from '../fake-provider';
import { eventually } from '../support/gateway';
import { runGateway, waitForHealth, writeConfig, type GatewayProcess } from '../support/gateway-process';
import { freePort } from '../support/redis-server';
import { startTestApp, type TestApp } from '../support/test-app';
import { SPAN_EXPORTER } from '../../src/tracing/tracing.constants';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver';
import { childrenOf, clientTraceparent, fakeProvider, namesOf, traceOf } from './support';

/**
 * The trace crosses processes: an API node (this process, in-memory exporter) queues the upstream work on
 * BullMQ; a worker node (src/main.ts in its own process) runs it and exports its spans over real OTLP/HTTP
 * JSON to a local receiver, with the configured headers.
 */
describe('tracing across the queue: API process → BullMQ → worker process', () => {
  let bad: FakeProvider;
  let good: FakeProvider;
  let receiver: OtlpReceiver;
  let worker: GatewayProcess;
  let api: TestApp;
  const exporter = new InMemorySpanExporter();

  @Global()
  @Module({ providers: [{ provide: SPAN_EXPORTER, useValue: exporter }], exports: [SPAN_EXPORTER] })
  class InMemoryExporterModule {}

  beforeAll(async () => {
    [bad, good, receiver] = await Promise.all([
      startFakeProvider({ defaults: { fault: { type: 'status', status: 503 } } }),
      startFakeProvider(),
      startOtlpReceiver(),
    ]);
    const config = {
      Providers: [fakeProvider('bad', bad.url), fakeProvider('good', good.url)],
      Router: { default: ['bad,m1', 'good,m1'] },
      Redis: { enabled: true, url: process.env.TEST_REDIS_URL, keyPrefix: `tt${randomUUID().slice(0, 8)}:` },
      JobQueue: { enabled: true, prefix: 'q' },
      Cache: { enabled: false },
      Pools: { warmup: false, healthPingMs: 0 },
      Failover: { health: { enabled: false, mode: 'models', intervalMs: 30000, timeoutMs: 5000 } },
      Logging: { level: 'warn' },
    };
    const port = await freePort();
    const tracing = {
      enabled: true,
      serviceName: 'switchyard-worker',
      endpoint: receiver.url,
      protocol: 'http/json',
      headers: { 'x-collector-token': 'secret-1' },
    };
    worker = runGateway(
      {
        SWITCHYARD_CONFIG: writeConfig({ ...config, Tracing: tracing }),
        PORT: String(port),
        NODE_ENV: 'production',
      },
      ['--role', 'worker'],
    );
    api = await startTestApp({
      userConfig: { ...config, Tracing: { enabled: true } },
      env: { SWITCHYARD_ROLE: 'api' },
      imports: [InMemoryExporterModule],
    });
    await waitForHealth(`http://127.0.0.1:${port}`, 60_000);
    await eventually(async () => (await request(api.url).get('/api/queue')).body.mode === 'bullmq', 10_000);
  });
  afterAll(async () => {
    worker?.child.kill('SIGKILL');
    await worker?.exited;
    await api?.close();
    await Promise.all([bad?.close(), good?.close(), receiver?.close()]);
  });

  it('the worker continues the client trace: queue wait and both attempts under the API request span', async () => {
    const client = clientTraceparent();
    const anthropic = new Anthropic({
      baseURL: api.url,
      apiKey: 'k',
      maxRetries: 0,
      defaultHeaders: { traceparent: client.header },
    });
    const answer = await anthropic.messages.create({
      model: 'x',
      max_tokens: 32,
      messages: [{ role: 'user', content: `queued trace ${randomUUID()}` }],
    });
    expect(answer.content[0]).toMatchObject({ type: 'text', text: 'Hello from fake provider' });

    // API process: the request and its local stages; the upstream work is not here.
    const local = await traceOf(exporter, client.traceId);
    const server = local.find((s) => s.kind === SpanKind.SERVER) as ReadableSpan;
    expect(server.parentSpanContext?.spanId).toBe(client.spanId);
    expect(namesOf(childrenOf(local, server))).toEqual([
      'switchyard.dedup',
      'switchyard.egress',
      'switchyard.route',
    ]);
    expect(local.some((s) => s.name === 'chat m1')).toBe(false);

    // Worker process: exported over OTLP/JSON with the configured headers.
    await eventually(() => receiver.spans.filter((s) => s.traceId === client.traceId).length >= 3, 15_000);
    const remote = receiver.spans.filter((s) => s.traceId === client.traceId);
    expect(remote.every((s) => s.service === 'switchyard-worker')).toBe(true);
    expect(receiver.requests[0]['x-collector-token']).toBe('secret-1');
    expect(receiver.requests[0]['content-type']).toContain('application/json');
    expect(remote.map((s) => s.name).sort()).toEqual(['chat m1', 'chat m1', 'switchyard.queue.wait']);
    const serverId = server.spanContext().spanId;
    expect(remote.every((s) => s.parentSpanId === serverId)).toBe(true);
    expect(remote.find((s) => s.name === 'switchyard.queue.wait')?.attributes).toMatchObject({
      'switchyard.queue.class': 'interactive',
    });
    const first = remote.find((s) => s.attributes['gen_ai.provider.name'] === 'bad');
    const second = remote.find((s) => s.attributes['gen_ai.provider.name'] === 'good');
    expect(first?.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'error.type': 'http_503' });
    expect(first?.status?.code).toBe(SpanStatusCode.ERROR);
    expect(second?.attributes).toMatchObject({
      'gen_ai.request.model': 'm1',
      'gen_ai.response.model': 'm1',
      'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 20,
    });

    // The providers saw the worker's attempts as their parents; the worker's log lines carry the trace.
    const traceparentOf = (fake: FakeProvider): unknown =>
      fake.requests.find((r) => r.api === 'openai')?.headers.traceparent;
    expect(traceparentOf(bad)).toBe(`00-${client.traceId}-${first?.spanId}-01`);
    expect(traceparentOf(good)).toBe(`00-${client.traceId}-${second?.spanId}-01`);
    const failoverLine = worker
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((r) => r.msg === 'failover');
    expect(failoverLine).toMatchObject({ trace_id: client.traceId, from: 'bad,m1', to: 'good,m1' });
  });
});
