import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetricsRegistry } from '../../src/metrics/metrics.registry';
import { startGateway, type GatewayUnderTest } from '../support/gateway';
import { dashboardExpressions, ruleFile, selectors, type Selector } from './promql';
import { messages, post, scrape, unique, type Scrape } from './support';

const ROOT = join(__dirname, '../..');
const dashboard = JSON.parse(readFileSync(join(ROOT, 'docker/grafana/dashboards/switchyard.json'), 'utf8'));
const rules = ruleFile(readFileSync(join(ROOT, 'docker/prometheus/alerts.yml'), 'utf8'));

/** Labels Prometheus adds to every scraped series (and `le` of histogram buckets). */
const TARGET_LABELS = new Set(['job', 'instance']);
/** Series Prometheus makes itself. */
const SYNTHETIC = new Set(['up']);

/**
 * The Grafana dashboard and the alert rules only refer to metrics a running gateway exports, with labels those
 * metrics have: a renamed metric or label fails here, not silently in a dashboard panel or an alert.
 */
describe('dashboard and alert rules against a running gateway', () => {
  let gw: GatewayUnderTest;
  let exposition: Scrape;
  let labelNames: (name: string) => readonly string[] | undefined;

  beforeAll(async () => {
    gw = await startGateway({ config: { Failover: { health: { enabled: false } } } });
    expect((await post(gw, '/v1/messages', messages(unique('names')))).status).toBe(200);
    exposition = await scrape(gw);
    const registry = gw.app.get(MetricsRegistry).registry;
    labelNames = (name) =>
      (registry.getSingleMetric(name) as { labelNames?: readonly string[] } | undefined)?.labelNames;
  });
  afterAll(() => gw.stop());

  /** The family a series name belongs to (histogram series carry _bucket, _sum, _count). */
  const family = (name: string): string | undefined => {
    if (exposition.types.has(name)) {
      return name;
    }
    const base = name.replace(/_(bucket|sum|count)$/, '');
    const type = exposition.types.get(base);
    return base !== name && (type === 'histogram' || type === 'summary') ? base : undefined;
  };

  const check = (where: string, exprs: string[]): Selector[] => {
    const used = exprs.flatMap(selectors);
    expect(used.length).toBeGreaterThan(10);
    const missing: string[] = [];
    for (const s of used) {
      if (rules.records.includes(s.name) || SYNTHETIC.has(s.name)) {
        continue;
      }
      const f = family(s.name);
      if (!f) {
        missing.push(`${where}: ${s.name} is not exported`);
        continue;
      }
      const known = labelNames(f);
      for (const label of s.labels) {
        if (
          known &&
          !known.includes(label) &&
          !TARGET_LABELS.has(label) &&
          !(label === 'le' && f !== s.name)
        ) {
          missing.push(`${where}: ${s.name} has no label "${label}"`);
        }
      }
    }
    expect(missing).toEqual([]);
    return used;
  };

  it('the rule file was read whole (every rule has its expression)', () => {
    expect(rules.rules).toBeGreaterThan(20);
    expect(rules.exprs).toHaveLength(rules.rules);
  });

  it('every metric and label the alert rules refer to is exported', () => {
    const used = check('alerts.yml', rules.exprs);
    for (const name of [
      'switchyard_requests_total',
      'switchyard_degraded_mode',
      'switchyard_router_slot_open_targets',
      'process_resident_memory_bytes',
    ]) {
      expect(used.map((s) => s.name)).toContain(name);
    }
  });

  it('every metric and label the Grafana dashboard refers to is exported', () => {
    const exprs = dashboardExpressions(dashboard);
    expect(exprs.length).toBeGreaterThan(60);
    const used = new Set(check('switchyard.json', exprs).map((s) => family(s.name) ?? s.name));
    // The panels the issue asks for, by what they show.
    for (const name of [
      'switchyard_request_duration_seconds',
      'switchyard_request_ttfb_seconds',
      'switchyard_gateway_overhead_seconds',
      'switchyard_cache_lookups_total',
      'switchyard_dedup_requests_total',
      'switchyard_failovers_total',
      'switchyard_circuit_state',
      'switchyard_target_health_score',
      'switchyard_queue_depth',
      'switchyard_upstream_pool_connections',
      'switchyard_tokens_total',
      'switchyard_sla_availability_ratio',
    ]) {
      expect(used).toContain(name);
    }
  });

  it('the dashboard is provisionable: unique panel ids, the datasource variable, a stable uid', () => {
    const ids: number[] = [];
    const walk = (panels: { id: number; panels?: unknown[] }[]): void => {
      for (const p of panels) {
        ids.push(p.id);
        walk((p.panels ?? []) as { id: number }[]);
      }
    };
    walk(dashboard.panels);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.uid).toBe('switchyard');
    expect(dashboard.templating.list.map((v: { name: string }) => v.name)).toEqual([
      'datasource',
      'job',
      'instance',
    ]);
  });
});
