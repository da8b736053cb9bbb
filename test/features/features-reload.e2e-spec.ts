/**
 * A hot reload of the user config file and the feature flags (docs/features.md#runtime-changes): the file's
 * values apply, runtime PUTs give way to them, a feature the guard turned off stays off until the operator's
 * PUT. Real file, real `POST /api/config/reload` (the config-reload rig).
 */
import { FeaturesService } from '../../src/features/features.service';
import { SECRETS, startReloadRig, type ReloadRig } from '../config-reload/support';
import { getFeatures, setFeatures } from './support';

const auth = { 'x-api-key': SECRETS.gateway };
const features = (flags: Record<string, unknown>) => ({ Features: { ...flags, guard: { enabled: false } } });

describe('feature flags across a config reload', () => {
  let rig: ReloadRig;
  beforeAll(async () => {
    rig = await startReloadRig({ extra: features({ queue: { enabled: true, rollout: 50 } }) });
  });
  afterAll(() => rig.stop());

  it("applies the file's flags, except that a tripped feature stays off until the operator turns it on", async () => {
    await setFeatures(rig, { hedge: { rollout: 10 } }, auth);
    rig.app
      .get(FeaturesService)
      .trip('cache', { trigger: 'memory', value: 0.95, threshold: 0.9, at: Date.now() }, 'guard');

    rig.save(
      rig.config(
        features({
          queue: { enabled: true, rollout: 80 },
          cache: { enabled: true, rollout: 100 },
          dedup: { enabled: false, rollout: 100 },
        }),
      ),
    );
    expect((await rig.api('POST', '/api/config/reload')).status).toBe(200);

    const view = (await getFeatures(rig, auth)).body.features;
    expect(view.queue).toMatchObject({ rollout: 80, state: 'partial', changedBy: 'config' });
    expect(view.dedup).toMatchObject({ enabled: false, state: 'off', changedBy: 'config' });
    expect(view.hedge).toMatchObject({ rollout: 100, state: 'on', changedBy: 'config' }); // the PUT gave way
    expect(view.cache).toMatchObject({ enabled: true, rollout: 100, state: 'tripped' });
    const answer = await rig.message();
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-switchyard-features-off')).toContain('cache');

    const back = await setFeatures(rig, { cache: { enabled: true } }, auth);
    expect(back.features.cache).toMatchObject({ state: 'on', trippedBy: null });
  });

  it('a reload that leaves the flags alone keeps runtime changes', async () => {
    await setFeatures(rig, { affinity: { rollout: 30 } }, auth);
    rig.save(
      rig.config({
        ...features({
          queue: { enabled: true, rollout: 80 },
          cache: { enabled: true, rollout: 100 },
          dedup: { enabled: false, rollout: 100 },
        }),
        Server: { pingIntervalMs: 9_000 },
      }),
    );
    expect((await rig.api('POST', '/api/config/reload')).status).toBe(200);
    expect((await getFeatures(rig, auth)).body.features.affinity).toMatchObject({
      rollout: 30,
      changedBy: 'operator',
    });
  });
});
