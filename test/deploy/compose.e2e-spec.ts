import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { parse } from 'yaml';
import type { LoadedConfig } from '../../src/config/load-config';
import type { SwitchyardConfig } from '../../src/config/config.schema';
import { ContainerFiles, REPO, durationMs, loadLikeContainer, readImage } from './deploy-support';

/**
 * docker/docker-compose.yml without a Docker engine: parsed, interpolated the way `docker compose` does, and
 * each Switchyard container's environment and mounted config file run through the real config loader.
 */

const DOCKER_DIR = join(REPO, 'docker');
const SWITCHYARD = { api: 'api', worker: 'worker', 'all-example': 'all' } as const;

type Json = Record<string, any>;

/** Compose's variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $$. */
function interpolate(value: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
      (
        match,
        name: string | undefined,
        op: string | undefined,
        arg: string | undefined,
        bare: string | undefined,
      ) => {
        if (match === '$$') {
          return '$';
        }
        const v = env[(name ?? bare) as string];
        const missing = op?.startsWith(':') ? !v : v === undefined;
        if (op?.endsWith('?') && missing) {
          throw new Error(`required variable ${name}: ${arg}`);
        }
        if (op?.endsWith('-') && missing) {
          return arg ?? '';
        }
        return v ?? '';
      },
    );
  }
  if (Array.isArray(value)) {
    return value.map((v) => interpolate(v, env));
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]));
  }
  return value;
}

function readCompose(env: Record<string, string | undefined>): Json {
  const raw = parse(readFileSync(join(DOCKER_DIR, 'docker-compose.yml'), 'utf8'), { merge: true }) as Json;
  return interpolate(raw, env) as Json;
}

interface Mount {
  source: string;
  target: string;
  bind: boolean;
}

function mounts(service: Json): Mount[] {
  return ((service.volumes ?? []) as string[]).map((spec) => {
    const [source, target] = spec.split(':');
    const bind = source.startsWith('.') || source.startsWith('/');
    return { source: bind ? resolve(DOCKER_DIR, source) : source, target, bind };
  });
}

/** The host file behind a container path, through the service's bind mounts. */
function hostFileFor(service: Json, containerPath: string): string | undefined {
  for (const m of mounts(service).filter((x) => x.bind)) {
    if (containerPath === m.target) {
      return m.source;
    }
    if (containerPath.startsWith(`${m.target}/`)) {
      return join(m.source, containerPath.slice(m.target.length + 1));
    }
  }
  return undefined;
}

describe('docker/docker-compose.yml', () => {
  const env = { SWITCHYARD_API_KEY: 'compose-test-key' };
  const compose = readCompose(env);
  const services = compose.services as Record<string, Json>;
  const image = readImage();

  it('has Redis, the API and worker nodes, the all-in-one example (profile), Prometheus and Grafana', () => {
    expect(Object.keys(services).sort()).toEqual([
      'all-example',
      'api',
      'grafana',
      'prometheus',
      'redis',
      'worker',
    ]);
    expect(services['all-example'].profiles).toEqual(['all']);
    for (const name of ['redis', 'api', 'worker', 'prometheus', 'grafana']) {
      expect([name, services[name].profiles]).toEqual([name, undefined]);
    }
  });

  it('refuses to start without SWITCHYARD_API_KEY (the nodes listen beyond loopback)', () => {
    expect(() => readCompose({})).toThrow(/SWITCHYARD_API_KEY/);
  });

  it('runs Redis 7 with AOF persistence on a named volume, healthchecked', () => {
    const redis = services.redis;
    expect(redis.image).toMatch(/^redis:7(\.|-|$)/);
    const command = redis.command as string[];
    expect(command[command.indexOf('--appendonly') + 1]).toBe('yes');
    const data = mounts(redis).find((m) => m.target === '/data');
    expect(data).toMatchObject({ bind: false, source: 'redis-data' });
    expect(Object.keys(compose.volumes)).toContain('redis-data');
    expect(redis.healthcheck.test.join(' ')).toContain('redis-cli ping');
  });

  it('gives every service a healthcheck; the Switchyard ones run the image HEALTHCHECK on /health/live', () => {
    for (const [name, service] of Object.entries(services)) {
      expect([name, Array.isArray(service.healthcheck?.test)]).toEqual([name, true]);
      expect(durationMs(service.healthcheck.interval)).toBeGreaterThan(0);
    }
    for (const name of Object.keys(SWITCHYARD)) {
      expect(services[name].healthcheck.test).toEqual(['CMD', ...image.healthcheck]);
      expect(services[name].healthcheck.test.join(' ')).toContain('/health/live');
    }
  });

  describe.each(Object.entries(SWITCHYARD))('the %s container', (name, role) => {
    const service = services[name];
    const containerEnv = { ...image.env, ...(service.environment as Record<string, string>) };
    const configPath = containerEnv.SWITCHYARD_CONFIG;
    const hostConfig = configPath ? hostFileFor(service, configPath) : undefined;
    // Loaded before the tests of this container so that a rejected configuration fails them with the loader's
    // message instead of aborting the whole file.
    let loaded: LoadedConfig;
    let config: SwitchyardConfig;
    beforeAll(() => {
      const files = new ContainerFiles(image);
      if (configPath && hostConfig) {
        files.copyIn(configPath, hostConfig);
      }
      loaded = loadLikeContainer(image, files, containerEnv);
      config = loaded.config;
    });

    it('mounts its config file read-only from the repo', () => {
      expect(configPath).toBe('/etc/switchyard/config.json');
      expect(hostConfig && existsSync(hostConfig)).toBe(true);
      expect(service.volumes).toContain(`./compose/switchyard.json:${configPath}:ro`);
    });

    it(`is accepted by the real config loader as role ${role}, on Redis, with the API key`, () => {
      expect(loaded.warnings).toEqual([]);
      expect(loaded.nodeEnv).toBe('production');
      expect(loaded.sources.some((s) => s.endsWith(posix.join('config', 'production.json')))).toBe(true);
      expect(config.JobQueue.role).toBe(role);
      expect(config.JobQueue.enabled).toBe(true);
      expect(config.Redis).toMatchObject({ enabled: true, url: 'redis://redis:6379' });
      expect(new URL(config.Redis.url as string).hostname).toBe('redis');
      expect(config.APIKEY).toBe('compose-test-key');
      expect(config.HOST).toBe('0.0.0.0');
      expect(config.Providers.map((p) => p.name)).toEqual(['anthropic', 'openai']);
    });

    it('publishes its listening port, waits for a healthy Redis and keeps its history on a volume', () => {
      const [hostIp, , containerPort] = (service.ports as string[])[0].split(':');
      expect(hostIp).toBe('127.0.0.1');
      expect(Number(containerPort)).toBe(config.PORT);
      expect(service.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
      const history = dirname(config.History.path);
      const stateMount = mounts(service).find((m) => m.target === history);
      expect(stateMount).toMatchObject({ bind: false });
      expect(Object.keys(compose.volumes)).toContain(stateMount?.source);
    });

    it('gets a stop grace period longer than the shutdown grace plus the 5 s backstop', () => {
      expect(durationMs(service.stop_grace_period)).toBeGreaterThan(config.Server.shutdownGraceMs + 5000);
    });

    it('is built from docker/Dockerfile with the repo root as context', () => {
      expect(resolve(DOCKER_DIR, service.build.context)).toBe(REPO);
      expect(existsSync(join(REPO, service.build.dockerfile))).toBe(true);
    });
  });

  it('uses distinct host ports and declares every named volume', () => {
    const hostPorts = Object.values(services).flatMap((s) =>
      ((s.ports ?? []) as string[]).map((p) => p.split(':').slice(0, 2).join(':')),
    );
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
    for (const service of Object.values(services)) {
      for (const m of mounts(service)) {
        if (m.bind) {
          expect([m.source, existsSync(m.source)]).toEqual([m.source, true]);
        } else {
          expect(Object.keys(compose.volumes)).toContain(m.source);
        }
      }
    }
  });

  describe('Prometheus', () => {
    const prometheus = services.prometheus;
    const flag = (prometheus.command as string[]).find((c) => c.startsWith('--config.file='));
    const configPath = flag?.split('=')[1] ?? '';
    const hostConfig = hostFileFor(prometheus, configPath) ?? '';
    const promConfig = parse(readFileSync(hostConfig, 'utf8')) as Json;

    it('reads the compose-specific config through its mount', () => {
      expect(hostConfig).toBe(join(DOCKER_DIR, 'prometheus', 'prometheus.compose.yml'));
      expect(prometheus.ports).toContain('127.0.0.1:9090:9090');
    });

    it('loads the alert rules', () => {
      expect(promConfig.rule_files).toEqual(['alerts.yml']);
      const rulesHost = hostFileFor(prometheus, posix.join(posix.dirname(configPath), 'alerts.yml')) ?? '';
      expect(rulesHost).toBe(join(DOCKER_DIR, 'prometheus', 'alerts.yml'));
      const rules = parse(readFileSync(rulesHost, 'utf8')) as Json;
      const alerts = (rules.groups as Json[]).flatMap((g) => (g.rules as Json[]).filter((r) => r.alert));
      expect(alerts.length).toBeGreaterThan(5);
    });

    it('scrapes /metrics of every Switchyard service on its listening port, as job "switchyard"', () => {
      const jobs = promConfig.scrape_configs as Json[];
      const job = jobs.find((j) => j.job_name === 'switchyard');
      // The alert rules and the dashboard select job="switchyard".
      expect(readFileSync(join(DOCKER_DIR, 'prometheus', 'alerts.yml'), 'utf8')).toContain(
        'job="switchyard"',
      );
      expect(job?.metrics_path).toBe('/metrics');
      const sd = (job?.dns_sd_configs ?? []) as Json[];
      const names = sd.flatMap((s) => s.names as string[]);
      expect(names.sort()).toEqual(Object.keys(SWITCHYARD).sort());
      for (const s of sd) {
        expect(s.type).toBe('A');
        expect(s.port).toBe(3456);
      }
      for (const name of Object.keys(SWITCHYARD)) {
        expect(Number(services[name].environment.PORT)).toBe(3456);
      }
    });

    const promtool = spawnSync('promtool', ['--version']).status === 0;
    (promtool ? it : it.skip)('passes `promtool check config` (rules included)', () => {
      const out = spawnSync('promtool', ['check', 'config', hostConfig], { encoding: 'utf8' });
      expect(out.stdout + out.stderr).toContain('SUCCESS');
      expect(out.status).toBe(0);
    });
  });

  describe('Grafana', () => {
    const grafana = services.grafana;

    it('is provisioned with the Prometheus datasource and the Switchyard dashboard', () => {
      const provisioning = hostFileFor(grafana, '/etc/grafana/provisioning') ?? '';
      expect(provisioning).toBe(join(DOCKER_DIR, 'grafana', 'provisioning'));
      const datasources = parse(
        readFileSync(join(provisioning, 'datasources', 'prometheus.yml'), 'utf8'),
      ) as Json;
      const url = new URL((datasources.datasources as Json[])[0].url as string);
      expect(url.hostname).toBe('prometheus');
      expect(services.prometheus.ports).toContain(`127.0.0.1:${url.port}:${url.port}`);
      const providers = parse(
        readFileSync(join(provisioning, 'dashboards', 'switchyard.yml'), 'utf8'),
      ) as Json;
      const dashboardsPath = (providers.providers as Json[])[0].options.path as string;
      const dashboardsHost = hostFileFor(grafana, dashboardsPath) ?? '';
      expect(statSync(dashboardsHost).isDirectory()).toBe(true);
      expect(existsSync(join(dashboardsHost, 'switchyard.json'))).toBe(true);
      const home = grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH as string;
      expect(existsSync(hostFileFor(grafana, home) ?? '')).toBe(true);
      expect(grafana.ports).toContain('127.0.0.1:3000:3000');
      expect(grafana.depends_on).toEqual({ prometheus: { condition: 'service_healthy' } });
    });
  });
});
