import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { randomUUID } from 'node:crypto';
import { eventually } from '../support/gateway';
import {
  childrenOf,
  clientTraceparent,
  namesOf,
  ns,
  startTracedGateway,
  traceOf,
  type TracedGateway,
} from './support';

const chatCalls = (gw: TracedGateway, which: 'bad' | 'good') =>
  gw[which].requests.filter((r) => r.api === 'openai');

describe('OpenTelemetry tracing (in-memory exporter)', () => {
  let gw: TracedGateway;
  beforeAll(async () => {
    gw = await startTracedGateway();
  });
  afterAll(() => gw.stop());
  beforeEach(() => {
    gw.exporter.reset();
    gw.bad.requests.splice(0);
    gw.good.requests.splice(0);
  });

  it('a failover request: the client traceparent is the parent, the span tree and GenAI attributes are right', async () => {
    const client = clientTraceparent();
    const anthropic = new Anthropic({
      baseURL: gw.url,
      apiKey: 'unused',
      maxRetries: 0,
      defaultHeaders: { traceparent: client.header },
    });
    const answer = await anthropic.messages.create({
      model: 'claude-any',
      max_tokens: 64,
      messages: [{ role: 'user', content: `failover trace ${randomUUID()}` }],
    });
    expect(answer.content[0]).toMatchObject({ type: 'text', text: 'Hello from fake provider' });

    const spans = await traceOf(gw.exporter, client.traceId);
    const server = spans.find((s) => s.kind === SpanKind.SERVER) as ReadableSpan;
    expect(server.name).toBe('POST /v1/messages');
    expect(server.parentSpanContext?.spanId).toBe(client.spanId);
    expect(server.parentSpanContext?.isRemote).toBe(true);
    expect(server.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/v1/messages',
      'http.response.status_code': 200,
      'switchyard.scenario': 'default',
      'switchyard.target': 'good,m1',
      'switchyard.cache': 'MISS',
      'switchyard.dedup': 'leader',
      'switchyard.attempts': 2,
    });

    // request → routing, cache lookup, dedup, queue wait, two attempts, egress
    const children = childrenOf(spans, server);
    expect(namesOf(children)).toEqual([
      'chat m1',
      'chat m1',
      'switchyard.cache.lookup',
      'switchyard.dedup',
      'switchyard.egress',
      'switchyard.queue.wait',
      'switchyard.route',
    ]);
    expect(spans).toHaveLength(1 + children.length); // nothing hangs elsewhere in the tree
    const named = (name: string): ReadableSpan => children.find((s) => s.name === name) as ReadableSpan;
    const [route, cache, dedup, queueWait, egress] = [
      'switchyard.route',
      'switchyard.cache.lookup',
      'switchyard.dedup',
      'switchyard.queue.wait',
      'switchyard.egress',
    ].map(named);
    const attempt = (provider: string): ReadableSpan =>
      children.find((s) => s.attributes['gen_ai.provider.name'] === provider) as ReadableSpan;
    const [first, second] = [attempt('bad'), attempt('good')];
    // In time: route, cache and dedup one after the other; the attempts one after the other; egress last
    // (the SDK takes start times from Date.now(): a millisecond of slack).
    const before = (a: ReadableSpan, b: ReadableSpan): boolean => ns(a.endTime) <= ns(b.startTime) + 1e6;
    expect([
      before(route, cache),
      before(cache, dedup),
      before(first, second),
      before(dedup, egress),
    ]).toEqual([true, true, true, true]);
    expect(route.attributes).toMatchObject({
      'switchyard.scenario': 'default',
      'switchyard.target': 'bad,m1',
      'switchyard.fallbacks': 1,
    });
    expect(cache.attributes).toMatchObject({ 'switchyard.cache.hit': false });
    expect(dedup.attributes).toMatchObject({ 'switchyard.dedup.role': 'leader' });
    expect(queueWait.attributes).toMatchObject({ 'switchyard.queue.class': 'interactive' });
    expect(egress.attributes).toMatchObject({
      'switchyard.egress.format': 'anthropic',
      'switchyard.egress.stream': false,
    });

    expect(first.kind).toBe(SpanKind.CLIENT);
    expect(first.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'bad',
      'gen_ai.request.model': 'm1',
      'error.type': 'http_503',
      'http.response.status_code': 503,
    });
    expect(first.status.code).toBe(SpanStatusCode.ERROR);
    expect(first.attributes['gen_ai.usage.input_tokens']).toBeUndefined();

    expect(second.kind).toBe(SpanKind.CLIENT);
    expect(second.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'good',
      'gen_ai.request.model': 'm1',
      'gen_ai.response.model': 'm1',
      'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 20,
      'gen_ai.response.finish_reasons': ['end_turn'],
    });
    expect(second.attributes['error.type']).toBeUndefined();
    expect(second.status.code).not.toBe(SpanStatusCode.ERROR);
    // The upstream attempt ends with its answer, so it is inside the request.
    expect(ns(second.endTime)).toBeLessThanOrEqual(ns(server.endTime));

    // Each provider saw the trace with its own attempt as the parent.
    const [badCall] = chatCalls(gw, 'bad');
    const [goodCall] = chatCalls(gw, 'good');
    expect(badCall.headers.traceparent).toBe(`00-${client.traceId}-${first.spanContext().spanId}-01`);
    expect(goodCall.headers.traceparent).toBe(`00-${client.traceId}-${second.spanContext().spanId}-01`);

    // Log lines carry the trace: the failover warning and the access line.
    await eventually(() =>
      gw.logs.records.some((r) => r.msg === 'POST /v1/messages 200' && r.trace_id === client.traceId),
    );
    const failover = gw.logs.records.find((r) => r.msg === 'failover' && r.trace_id === client.traceId);
    expect(failover).toMatchObject({ from: 'bad,m1', to: 'good,m1', reason: 'http_503' });
    expect(typeof failover?.span_id).toBe('string');
  });

  it('no client traceparent: a new trace; a streamed OpenAI answer, then its cache hit without upstream spans', async () => {
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const content = `cache trace ${randomUUID()}`;
    const ask = async (): Promise<string> => {
      const stream = await openai.chat.completions.create({
        model: 'any',
        stream: true,
        messages: [{ role: 'user', content }],
      });
      let text = '';
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
      }
      return text;
    };
    expect(await ask()).toBe('Hello from fake provider');
    const miss = await traceOf(gw.exporter);
    const missServer = miss.find((s) => s.kind === SpanKind.SERVER) as ReadableSpan;
    expect(missServer.name).toBe('POST /v1/chat/completions');
    expect(missServer.parentSpanContext).toBeUndefined();
    expect(childrenOf(miss, missServer).filter((s) => s.name === 'chat m1')).toHaveLength(2);
    const egress = miss.find((s) => s.name === 'switchyard.egress');
    expect(egress?.attributes).toMatchObject({
      'switchyard.egress.format': 'openai',
      'switchyard.egress.stream': true,
    });

    await eventually(async () => (await gw.app.inject({ url: '/api/cache/stats' })).json().stores > 0);
    gw.exporter.reset();
    const upstreamCalls = chatCalls(gw, 'good').length;
    expect(await ask()).toBe('Hello from fake provider');
    const hit = await traceOf(gw.exporter);
    const hitServer = hit.find((s) => s.kind === SpanKind.SERVER) as ReadableSpan;
    expect(hitServer.spanContext().traceId).not.toBe(missServer.spanContext().traceId);
    expect(hitServer.attributes['switchyard.cache']).toBe('HIT');
    expect(namesOf(childrenOf(hit, hitServer))).toEqual([
      'switchyard.cache.lookup',
      'switchyard.egress',
      'switchyard.route',
    ]);
    expect(hit.find((s) => s.name === 'switchyard.cache.lookup')?.attributes).toMatchObject({
      'switchyard.cache.hit': true,
      'switchyard.cache.tier': 'memory',
    });
    expect(chatCalls(gw, 'good')).toHaveLength(upstreamCalls);
  });

  it('an unsampled client trace is continued unsampled: nothing exported, the flag reaches the provider', async () => {
    const client = clientTraceparent();
    const unsampled = client.header.replace(/-01$/, '-00');
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: unsampled },
      body: JSON.stringify({
        model: 'x',
        max_tokens: 16,
        messages: [{ role: 'user', content: `unsampled ${randomUUID()}` }],
      }),
    });
    expect(res.status).toBe(200);
    await res.text();
    const [goodCall] = chatCalls(gw, 'good');
    expect(goodCall.headers.traceparent).toMatch(new RegExp(`^00-${client.traceId}-[0-9a-f]{16}-00$`));
    await new Promise((r) => setTimeout(r, 100));
    expect(gw.exporter.getFinishedSpans()).toHaveLength(0);
  });

  it('a batch created under a client trace: each batch request is a span of that trace, its upstream work below', async () => {
    const client = clientTraceparent();
    const anthropic = new Anthropic({
      baseURL: gw.url,
      apiKey: 'unused',
      maxRetries: 0,
      defaultHeaders: { traceparent: client.header },
    });
    const batch = await anthropic.messages.batches.create({
      requests: [0, 1].map((i) => ({
        custom_id: `r${i}`,
        params: {
          model: 'x',
          max_tokens: 16,
          messages: [{ role: 'user' as const, content: `batch trace ${i} ${randomUUID()}` }],
        },
      })),
    });
    let requests: ReadableSpan[] = [];
    await eventually(() => {
      requests = gw.exporter.getFinishedSpans().filter((s) => s.name === 'switchyard.batch.request');
      return requests.length === 2;
    }, 10_000);
    const create = (await traceOf(gw.exporter, client.traceId)).find(
      (s) => s.kind === SpanKind.SERVER,
    ) as ReadableSpan;
    expect(create.name).toBe('POST /v1/messages/batches');
    const spans = gw.exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === client.traceId);
    for (const request of requests) {
      expect(request.spanContext().traceId).toBe(client.traceId);
      expect(request.parentSpanContext?.spanId).toBe(create.spanContext().spanId);
      expect(request.attributes['switchyard.batch.id']).toBe(batch.id);
      // Batch requests run upstream directly (the batch job was the queue): no queue-wait span.
      expect(namesOf(childrenOf(spans, request))).toEqual([
        'chat m1',
        'chat m1',
        'switchyard.cache.lookup',
        'switchyard.dedup',
        'switchyard.route',
      ]);
    }
    expect(chatCalls(gw, 'good').every((c) => String(c.headers.traceparent).includes(client.traceId))).toBe(
      true,
    );
  });

  it('health probes and /api/* are not traced', async () => {
    await gw.app.inject({ url: '/health/live' });
    await gw.app.inject({ url: '/api/stats' });
    await new Promise((r) => setTimeout(r, 50));
    expect(gw.exporter.getFinishedSpans()).toHaveLength(0);
  });
});

describe('tracing off (the default)', () => {
  let gw: TracedGateway;
  beforeAll(async () => {
    gw = await startTracedGateway({ Tracing: { enabled: false } });
  });
  afterAll(() => gw.stop());

  it('creates no span, forwards no traceparent upstream, leaves log lines without trace ids', async () => {
    const client = clientTraceparent();
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: client.header },
      body: JSON.stringify({
        model: 'x',
        max_tokens: 16,
        messages: [{ role: 'user', content: `off ${randomUUID()}` }],
      }),
    });
    expect(res.status).toBe(200);
    await res.text();
    const calls = [...chatCalls(gw, 'bad'), ...chatCalls(gw, 'good')];
    expect(calls).toHaveLength(2);
    expect(calls.every((c) => c.headers.traceparent === undefined)).toBe(true);
    expect(gw.exporter.getFinishedSpans()).toHaveLength(0);
    await eventually(() => gw.logs.records.some((r) => r.msg === 'POST /v1/messages 200'));
    expect(gw.logs.records.some((r) => 'trace_id' in r)).toBe(false);
  });
});
