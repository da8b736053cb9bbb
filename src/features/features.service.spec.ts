import { observationOf } from '../common/request-observation';
import { FeaturesService } from './features.service';
import type { FeatureNotice } from './features.types';
import { decidedFeatures } from './request-features';
import { fakeConfig, quietLogger, testConfig } from './features.test-helpers';

const TRIP = { trigger: 'error_rate' as const, value: 0.5, threshold: 0.05, at: 1_700_000_000_000 };

function setup(features: Record<string, unknown> = {}) {
  const base = testConfig({ Features: features });
  const config = fakeConfig(base);
  const log = quietLogger();
  const service = new FeaturesService(config.service, log.logger);
  const notices: FeatureNotice[] = [];
  service.onNotice((n) => notices.push(n));
  return { config, service, log, notices, base };
}

describe('FeaturesService', () => {
  it('starts from the Features section', () => {
    const { service } = setup({
      hedge: { enabled: false, rollout: 100 },
      cache: { enabled: true, rollout: 30 },
    });
    const view = service.view();
    expect(view.hedge).toMatchObject({ enabled: false, rollout: 100, state: 'off', changedAt: null });
    expect(view.cache).toMatchObject({ enabled: true, rollout: 30, state: 'partial', trippedBy: null });
    expect(view.dedup).toMatchObject({ state: 'on', section: true });
    expect(service.decide('anything').hedge).toBe(false);
  });

  it("reports each feature's own config switch beside the flag", () => {
    const { service } = setup();
    // Failover.hedge.enabled is off by default; the flag alone does not turn hedging on.
    expect(service.view().hedge).toMatchObject({ enabled: true, state: 'on', section: false });
  });

  it('one decision per request, made by the first caller and noted on its observation', () => {
    const { service } = setup({ cache: { enabled: true, rollout: 50 } });
    const raw = {};
    const obs = observationOf(raw);
    const request = { raw, body: { messages: [{ role: 'user', content: 'hi' }] }, headers: {} };
    const first = service.featuresOf(request);
    service.update({ cache: { enabled: false } }, 'operator');
    expect(service.featuresOf(request)).toBe(first); // the request keeps what it started with
    expect(decidedFeatures(raw)).toBe(first);
    expect(obs.features).toBe(first);
    expect(service.featuresOf({ ...request, raw: {} }).cache).toBe(false);
  });

  it('operator changes apply, are published, and note when and by whom', () => {
    const { service, notices } = setup();
    service.update({ queue: { rollout: 25 }, hedge: { enabled: false } }, 'operator', 1_000);
    expect(service.view().queue).toMatchObject({
      rollout: 25,
      state: 'partial',
      changedBy: 'operator',
      changedAt: new Date(1_000).toISOString(),
    });
    expect(service.view().hedge.state).toBe('off');
    expect(notices).toEqual([
      { kind: 'set', changes: { queue: { rollout: 25 }, hedge: { enabled: false } }, at: 1_000 },
    ]);
  });

  it('only a change that gives a feature more traffic counts as a raise (the guard looks at those)', () => {
    const { service } = setup({ cache: { enabled: true, rollout: 50 } });
    service.update({ cache: { rollout: 20 } }, 'operator', 10);
    expect(service.facts().cache.raisedAt).toBeUndefined();
    service.update({ cache: { rollout: 60 } }, 'operator', 20);
    expect(service.facts().cache.raisedAt).toBe(20);
    service.update({ dedup: { enabled: false } }, 'operator', 30);
    service.update({ dedup: { enabled: true } }, 'operator', 40);
    expect(service.facts().dedup).toEqual({ active: true, raisedAt: 40 });
  });

  it('a trip turns the feature off for every request until the operator turns it back on', () => {
    const { service, notices } = setup();
    expect(service.trip('cache', TRIP, 'guard')).toBe(true);
    expect(service.trip('cache', TRIP, 'guard')).toBe(false);
    expect(service.decide('x').cache).toBe(false);
    expect(service.view().cache).toMatchObject({
      enabled: true,
      state: 'tripped',
      changedBy: 'guard',
      trippedBy: { trigger: 'error_rate', value: 0.5, threshold: 0.05, at: new Date(TRIP.at).toISOString() },
    });
    expect(notices).toContainEqual({ kind: 'trip', feature: 'cache', trip: TRIP });
    // A rollout change is not the operator's word on the trip.
    service.update({ cache: { rollout: 40 } }, 'operator');
    expect(service.view().cache.state).toBe('tripped');
    service.update({ cache: { enabled: true } }, 'operator');
    expect(service.view().cache).toMatchObject({ state: 'partial', rollout: 40, trippedBy: null });
    expect(service.facts().cache.raisedAt).toBeDefined();
  });

  it("a config reload applies the file's values but keeps a tripped feature off", () => {
    const { service, config, base } = setup();
    service.update({ hedge: { rollout: 10 } }, 'operator');
    service.trip('queue', TRIP, 'guard');
    const features = {
      ...base.Features,
      dedup: { enabled: true, rollout: 70 },
      queue: { enabled: true, rollout: 90 },
    };
    config.reload({ ...base, Features: features });
    const view = service.view();
    expect(view.dedup).toMatchObject({ rollout: 70, state: 'partial', changedBy: 'config' });
    expect(view.hedge).toMatchObject({ rollout: 100, state: 'on', changedBy: 'config' }); // the file's value
    expect(view.queue).toMatchObject({ rollout: 90, state: 'tripped' });
    expect(service.decide('s').queue).toBe(false);
  });

  it('a reload that leaves the Features flags alone keeps runtime changes', () => {
    const { service, config, base } = setup();
    service.update({ hedge: { rollout: 10 } }, 'operator');
    config.reload({ ...base, Cache: { ...base.Cache, paceReplayMs: 5 } });
    expect(service.view().hedge.rollout).toBe(10);
  });

  it('changes from another instance apply without being published again', () => {
    const { service, notices } = setup();
    service.applyNotice({ kind: 'set', changes: { affinity: { enabled: false } }, at: 5 });
    service.applyNotice({ kind: 'trip', feature: 'dedup', trip: TRIP });
    expect(service.view().affinity).toMatchObject({ state: 'off', changedBy: 'cluster' });
    expect(service.view().dedup.state).toBe('tripped');
    expect(notices).toEqual([]);
  });
});
