import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startTestApp } from '../support/test-app';
import type { LoadedConfig } from '../../src/config/load-config';
import type { SwitchyardConfig } from '../../src/config/config.schema';
import { ContainerFiles, REPO, loadLikeContainer, readImage } from './deploy-support';

/**
 * docker/kubernetes/ without a cluster: every manifest parsed, cross-references checked (selectors, ports,
 * Secret keys, autoscaler and budget targets), each container's environment and mounted files run through the
 * real config loader, and the probe paths requested from a running gateway of each role.
 */

const K8S_DIR = join(REPO, 'docker', 'kubernetes');

type Json = Record<string, any>;
interface Manifest {
  file: string;
  doc: Json;
}

function readManifests(): Manifest[] {
  const out: Manifest[] = [];
  for (const dir of [K8S_DIR, join(K8S_DIR, 'extras')]) {
    for (const name of readdirSync(dir)
      .filter((n) => n.endsWith('.yaml'))
      .sort()) {
      const file = join(dir, name);
      for (const parsed of parseAllDocuments(readFileSync(file, 'utf8'))) {
        if (parsed.errors.length > 0 || parsed.warnings.length > 0) {
          throw new Error(
            `${file}: ${[...parsed.errors, ...parsed.warnings].map((e) => e.message).join('; ')}`,
          );
        }
        const doc = parsed.toJS() as Json | null;
        if (doc) {
          out.push({ file: file.slice(REPO.length + 1), doc });
        }
      }
    }
  }
  return out;
}

const API_VERSIONS: Record<string, string> = {
  ConfigMap: 'v1',
  Secret: 'v1',
  Service: 'v1',
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  PodDisruptionBudget: 'policy/v1',
  HorizontalPodAutoscaler: 'autoscaling/v2',
  ServiceMonitor: 'monitoring.coreos.com/v1',
};

const selects = (selector: Record<string, string>, labels: Record<string, string> = {}): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('docker/kubernetes', () => {
  const manifests = readManifests();
  const all = manifests.map((m) => m.doc);
  const ofKind = (kind: string): Json[] => all.filter((d) => d.kind === kind);
  const named = (kind: string, name: string): Json | undefined =>
    ofKind(kind).find((d) => d.metadata.name === name);
  const deployments = ofKind('Deployment');
  const secret = named('Secret', 'switchyard-secrets');
  const image = readImage();

  it('parses into known kinds with unique names', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(12);
    for (const { file, doc } of manifests) {
      expect([file, doc.kind, doc.apiVersion]).toEqual([file, doc.kind, API_VERSIONS[doc.kind]]);
      expect(typeof doc.metadata?.name).toBe('string');
    }
    const keys = all.map((d) => `${d.kind}/${d.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['switchyard-api', 'switchyard-worker']);
  });

  it('ships config/production.json in its ConfigMap byte for byte', () => {
    const cm = named('ConfigMap', 'switchyard-production');
    expect(cm?.data['production.json']).toBe(readFileSync(join(REPO, 'config', 'production.json'), 'utf8'));
  });

  it('ships the same user config file as the compose stack', () => {
    const cm = named('ConfigMap', 'switchyard-config');
    expect(JSON.parse(cm?.data['config.json'])).toEqual(
      JSON.parse(readFileSync(join(REPO, 'docker', 'compose', 'switchyard.json'), 'utf8')),
    );
  });

  describe.each([
    ['switchyard-api', 'api'],
    ['switchyard-worker', 'worker'],
  ])('Deployment %s', (name, role) => {
    const deployment = named('Deployment', name) as Json;
    const pod = deployment.spec.template.spec as Json;
    const container = (pod.containers as Json[]).find((c) => c.name === 'switchyard') as Json;
    const http = (container.ports as Json[]).find((p) => p.name === 'http') as Json;

    /** The container's environment: the image's ENV, then the manifest's (Secret values from the example). */
    const containerEnv = (): Record<string, string> => {
      const env: Record<string, string> = { ...image.env };
      for (const e of container.env as Json[]) {
        if (e.value !== undefined) {
          env[e.name] = String(e.value);
          continue;
        }
        const ref = e.valueFrom?.secretKeyRef as Json | undefined;
        if (!ref) {
          throw new Error(`${name}: env ${e.name} is neither a value nor a secretKeyRef`);
        }
        expect([e.name, ref.name]).toEqual([e.name, 'switchyard-secrets']);
        const value = secret?.stringData?.[ref.key] as string | undefined;
        expect([e.name, ref.key, typeof value]).toEqual([e.name, ref.key, 'string']);
        env[e.name] = value as string;
      }
      return env;
    };

    /** The mounted ConfigMaps laid over the image's files; the loader reads through them. */
    const containerFiles = (): ContainerFiles => {
      const files = new ContainerFiles(image);
      for (const mount of container.volumeMounts as Json[]) {
        const volume = (pod.volumes as Json[]).find((v) => v.name === mount.name) as Json;
        expect([mount.name, volume]).toEqual([mount.name, expect.any(Object)]);
        if (!volume.configMap) {
          continue;
        }
        const data = named('ConfigMap', volume.configMap.name)?.data as Record<string, string>;
        expect(data).toBeDefined();
        if (mount.subPath) {
          files.write(mount.mountPath, data[mount.subPath]);
        } else {
          for (const [key, content] of Object.entries(data)) {
            files.write(join(mount.mountPath, key), content);
          }
        }
      }
      return files;
    };

    // Loaded before the tests of this container so that a rejected configuration fails them with the loader's
    // message instead of aborting the whole file.
    let loaded: LoadedConfig;
    let config: SwitchyardConfig;
    beforeAll(() => {
      loaded = loadLikeContainer(image, containerFiles(), containerEnv());
      config = loaded.config;
    });

    it(`is accepted by the real config loader as role ${role}, with the mounted files and Secret values`, () => {
      expect(loaded.warnings).toEqual([]);
      expect(loaded.nodeEnv).toBe('production');
      expect(config.JobQueue.role).toBe(role);
      expect(config.JobQueue.enabled).toBe(true);
      expect(config.Redis).toMatchObject({ enabled: true, url: secret?.stringData['redis-url'] });
      expect(config.APIKEY).toBe(secret?.stringData.apikey);
      expect(config.Providers.find((p) => p.name === 'anthropic')?.api_key).toBe(
        secret?.stringData['anthropic-api-key'],
      );
      expect(config.HOST).toBe('0.0.0.0');
      // The production layer is the ConfigMap's copy mounted over /app/config/production.json.
      const production = JSON.parse(readFileSync(join(REPO, 'config', 'production.json'), 'utf8')) as Json;
      expect(config.Server.shutdownGraceMs).toBe(production.Server.shutdownGraceMs);
    });

    it('listens on the port it declares, and its Service and probes point there', () => {
      expect(config.PORT).toBe(http.containerPort);
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        expect([probe, container[probe]?.httpGet?.port]).toEqual([probe, 'http']);
      }
      const services = ofKind('Service').filter((s) =>
        selects(s.spec.selector, deployment.spec.template.metadata.labels),
      );
      expect(services).toHaveLength(1);
      expect(services[0].spec.ports.map((p: Json) => p.targetPort)).toEqual(['http']);
    });

    it('probes liveness and startup on /health/live and readiness on /health/ready', () => {
      expect(container.livenessProbe.httpGet.path).toBe('/health/live');
      expect(container.startupProbe.httpGet.path).toBe('/health/live');
      expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
    });

    it('selects its own pods and no other Deployment selects them', () => {
      const labels = deployment.spec.template.metadata.labels as Record<string, string>;
      expect(selects(deployment.spec.selector.matchLabels, labels)).toBe(true);
      expect(labels['app.kubernetes.io/component']).toBe(role);
      for (const other of deployments.filter((d) => d !== deployment)) {
        expect(selects(other.spec.selector.matchLabels, labels)).toBe(false);
      }
    });

    it('gives SIGTERM more time than preStop + Server.shutdownGraceMs + the 5 s backstop of src/main.ts', () => {
      const preStop = container.lifecycle?.preStop?.exec?.command as string[] | undefined;
      const preStopMs = preStop ? Number(preStop[preStop.length - 1]) * 1000 : 0;
      expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.Server.shutdownGraceMs);
      expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(
        preStopMs + config.Server.shutdownGraceMs + 5000,
      );
    });

    it('runs as the image user, non-root, read-only, with its writable paths on volumes', () => {
      expect(image.user).toBe('node');
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(container.securityContext).toMatchObject({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      const writable = (container.volumeMounts as Json[]).filter((m) =>
        (pod.volumes as Json[]).some((v) => v.name === m.name && v.emptyDir),
      );
      expect(writable.map((m) => m.mountPath)).toEqual(
        expect.arrayContaining([dirname(config.History.path), '/tmp']),
      );
    });

    it('requests and limits CPU and memory, with the V8 heap below the memory limit', () => {
      const { requests, limits } = container.resources as Json;
      expect(requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
      expect(limits).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
      const mi = (q: string): number => Number(q.replace(/Mi$/, ''));
      expect(mi(limits.memory)).toBeGreaterThanOrEqual(mi(requests.memory));
      const heap = /--max-old-space-size=(\d+)/.exec(
        (container.env as Json[]).find((e) => e.name === 'NODE_OPTIONS')?.value ?? '',
      );
      expect(Number(heap?.[1])).toBeLessThan(mi(limits.memory));
    });

    it('is covered by a PodDisruptionBudget and an autoscaler that leave room for a drain', () => {
      const labels = deployment.spec.template.metadata.labels as Record<string, string>;
      const pdbs = ofKind('PodDisruptionBudget').filter((p) => selects(p.spec.selector.matchLabels, labels));
      expect(pdbs).toHaveLength(1);
      const hpas = ofKind('HorizontalPodAutoscaler').filter(
        (h) => h.spec.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === name,
      );
      expect(hpas).toHaveLength(1);
      const hpa = hpas[0].spec as Json;
      expect(hpa.scaleTargetRef.apiVersion).toBe('apps/v1');
      expect(hpa.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.maxReplicas).toBeGreaterThanOrEqual(hpa.minReplicas);
      expect(hpa.metrics[0]).toMatchObject({ type: 'Resource', resource: { name: 'cpu' } });
      const pdb = pdbs[0].spec as Json;
      if (pdb.minAvailable !== undefined) {
        expect(pdb.minAvailable).toBeLessThan(hpa.minReplicas);
      } else {
        expect(pdb.maxUnavailable).toBeGreaterThanOrEqual(1);
      }
    });
  });

  it('is scraped by a ServiceMonitor on /metrics of both roles, as job "switchyard"', () => {
    const monitor = named('ServiceMonitor', 'switchyard') as Json;
    const services = ofKind('Service').filter((s) =>
      selects(monitor.spec.selector.matchLabels, s.metadata.labels),
    );
    expect(services.map((s) => s.metadata.name).sort()).toEqual(['switchyard-api', 'switchyard-worker']);
    for (const service of services) {
      expect(service.metadata.labels[monitor.spec.jobLabel]).toBe('switchyard');
      for (const endpoint of monitor.spec.endpoints as Json[]) {
        expect(service.spec.ports.map((p: Json) => p.name)).toContain(endpoint.port);
        expect(endpoint.path).toBe('/metrics');
      }
    }
    expect(named('Service', 'switchyard-worker')?.spec.clusterIP).toBe('None');
  });

  it('offers a Redis 7 StatefulSet with AOF on a PersistentVolumeClaim, reachable at the example REDIS_URL', () => {
    const sts = named('StatefulSet', 'switchyard-redis') as Json;
    const redis = sts.spec.template.spec.containers[0] as Json;
    expect(redis.image).toMatch(/^redis:7(\.|-|$)/);
    const args = redis.args as string[];
    expect(args[args.indexOf('--appendonly') + 1]).toBe('yes');
    const claim = (sts.spec.volumeClaimTemplates as Json[])[0];
    const dataMount = (redis.volumeMounts as Json[]).find((m) => m.name === claim.metadata.name);
    expect(dataMount?.mountPath).toBe(args[args.indexOf('--dir') + 1]);
    const service = named('Service', sts.spec.serviceName) as Json;
    expect(selects(service.spec.selector, sts.spec.template.metadata.labels)).toBe(true);
    const url = new URL(secret?.stringData['redis-url']);
    expect(url.hostname).toBe(service.metadata.name);
    expect(Number(url.port)).toBe(service.spec.ports[0].port);
  });

  describe.each(['api', 'worker'])('a running %s node', (role) => {
    it('answers 200 on every probe path of its Deployment and on /metrics', async () => {
      const deployment = named('Deployment', `switchyard-${role}`) as Json;
      const container = deployment.spec.template.spec.containers[0] as Json;
      const paths = ['startupProbe', 'livenessProbe', 'readinessProbe'].map(
        (p) => container[p].httpGet.path as string,
      );
      const app = await startTestApp({ env: { SWITCHYARD_ROLE: role }, logLevel: 'silent' });
      try {
        for (const path of [...new Set(paths), '/metrics']) {
          const res = await fetch(`${app.url}${path}`);
          expect([path, res.status]).toEqual([path, 200]);
        }
      } finally {
        await app.close();
      }
    });
  });
});
