import Anthropic from '@anthropic-ai/sdk';
import { spawnSync } from 'node:child_process';
import { startGateway, type GatewayUnderTest } from '../support/gateway';
import { promLint } from './promlint';
import { scrape, unique } from './support';

const promtoolOnPath = spawnSync('promtool', ['--version']).status === 0;

describe('promLint (the rules of promtool check metrics)', () => {
  it('flags what promtool flags and passes a well-named exposition', () => {
    const bad = [
      '# HELP a_requests Requests.',
      '# TYPE a_requests counter',
      'a_requests 1',
      '# HELP a_open_total Open.',
      '# TYPE a_open_total gauge',
      'a_open_total 1',
      '# HELP a_latency_seconds Latency.',
      '# TYPE a_latency_seconds gauge',
      'a_latency_seconds{quantile="0.5"} 1',
      '# TYPE a_duration_milliseconds histogram',
      'a_duration_milliseconds_bucket{le="+Inf"} 1',
      'a_duration_milliseconds_sum 1',
      'a_duration_milliseconds_count 1',
    ].join('\n');
    expect(promLint(bad)).toEqual([
      'a_requests counter metrics should have "_total" suffix',
      'a_open_total non-counter metrics should not have "_total" suffix',
      'a_latency_seconds non-summary metrics should not have "quantile" label',
      'a_duration_milliseconds no help text',
      'a_duration_milliseconds use base unit instead of "milliseconds"',
    ]);
    const good = [
      '# HELP a_requests_total Requests.',
      '# TYPE a_requests_total counter',
      'a_requests_total{route="x"} 1',
      '# HELP a_duration_seconds Duration.',
      '# TYPE a_duration_seconds histogram',
      'a_duration_seconds_bucket{le="+Inf"} 1',
      'a_duration_seconds_sum 1',
      'a_duration_seconds_count 1',
    ].join('\n');
    expect(promLint(good)).toEqual([]);
  });
});

describe('GET /metrics passes promtool check metrics', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway();
    // An answer, so that the SLA windows and the request histograms have samples to print.
    const client = new Anthropic({ baseURL: gw.url, apiKey: 'test', maxRetries: 0 });
    await client.messages.create({
      model: 'claude-sonnet-4',
      max_tokens: 16,
      messages: [{ role: 'user', content: unique('lint') }],
    });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('every family is named and labelled the Prometheus way, process metrics included', async () => {
    const s = await scrape(gw);
    expect(s.has('switchyard_sla_latency_seconds', { window: '5m', percentile: '95' })).toBe(true);
    expect(s.has('nodejs_active_handles')).toBe(true);
    expect(promLint(s.text)).toEqual([]);
    if (promtoolOnPath) {
      const run = spawnSync('promtool', ['check', 'metrics'], { input: s.text, encoding: 'utf8' });
      expect({ status: run.status, output: `${run.stdout}${run.stderr}` }).toEqual({ status: 0, output: '' });
    }
  });
});
