import { renameSync, writeFileSync } from 'node:fs';
import { eventually } from '../support/gateway';
import { reloadCount, startReloadRig, type ReloadRig } from './support';

interface ConfigView {
  config: { Router: { default: string }; Failover: { maxRetries: number } };
  meta: {
    generation: number;
    watching: boolean;
    lastReload: { result: string; trigger: string; problem?: string };
  };
}

/** The file watcher applies saved changes on its own; every wait polls for the effect. */
describe('config file watcher', () => {
  let rig: ReloadRig;

  beforeAll(async () => {
    rig = await startReloadRig({ watch: true });
  });
  afterAll(() => rig.stop());

  const view = async (): Promise<ConfigView> =>
    (await (await rig.api('GET', '/api/config')).json()) as ConfigView;
  const generationAbove = (n: number) => async () => (await view()).meta.generation > n;

  it('applies a saved change without any call', async () => {
    const start = await view();
    expect(start.meta.watching).toBe(true);
    rig.save(rig.config({ Router: { default: 'beta,b-model', longContextThreshold: 60000 } }));
    await eventually(generationAbove(start.meta.generation), 20_000);
    const now = await view();
    expect(now.config.Router.default).toBe('beta,b-model');
    expect(now.meta.lastReload).toMatchObject({ result: 'applied', trigger: 'watch' });
    const before = rig.beta.count();
    expect((await rig.message()).status).toBe(200);
    expect(rig.beta.count()).toBe(before + 1);
  });

  it('rejects an invalid save with an error log line, and keeps serving the old configuration', async () => {
    const rejected = await reloadCount(rig, 'rejected');
    rig.save('{ "Router": ');
    await eventually(async () => (await reloadCount(rig, 'rejected')) > rejected, 20_000);
    const line = rig.logs.records.find(
      (r) => r.level === 50 && String(r.msg).includes('configuration reload rejected'),
    );
    expect(String(line?.msg)).toContain(`invalid JSON5 in ${rig.file}`);
    const now = await view();
    expect(now.config.Router.default).toBe('beta,b-model');
    expect(now.meta.lastReload).toMatchObject({ result: 'rejected', trigger: 'watch' });
    const before = rig.beta.count();
    expect((await rig.message()).status).toBe(200);
    expect(rig.beta.count()).toBe(before + 1);
  });

  it('applies a save that moves the original away (a backup) and writes a new file', async () => {
    const rejected = await reloadCount(rig, 'rejected');
    const generation = (await view()).meta.generation;
    // Some editors keep a backup by renaming the original, then write the new file in its place (a file that
    // stays missing for a while is covered by config-watcher.spec.ts).
    renameSync(rig.file, `${rig.file}.bak`);
    writeFileSync(
      rig.file,
      JSON.stringify(rig.config({ Router: { default: 'alpha,a-model', longContextThreshold: 60000 } })),
    );
    await eventually(generationAbove(generation), 20_000);
    expect((await view()).config.Router.default).toBe('alpha,a-model');
    expect(await reloadCount(rig, 'rejected')).toBe(rejected);
  });

  it('follows a change of its own settings (watch off: saves are no longer applied until a POST)', async () => {
    rig.save(rig.config({ Reload: { watch: false, debounceMs: 50 } }));
    await eventually(async () => !(await view()).meta.watching, 20_000);
    rig.save(rig.config({ Reload: { watch: false, debounceMs: 50 }, Failover: { maxRetries: 1 } }));
    const res = await rig.api('POST', '/api/config/reload');
    expect(((await res.json()) as { changed: string[] }).changed).toEqual(['Failover']);
    expect((await view()).config.Failover.maxRetries).toBe(1);
  });
});
