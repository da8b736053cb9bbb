import type { PinoLogger } from 'nestjs-pino';
import { RequestOutcomeService, type RequestOutcome } from '../common/request-outcome';
import type { SwitchyardConfig } from '../config/config.schema';
import type { AppConfigService } from '../config/config.service';
import type { TargetStateService } from '../failover/target-state.service';
import type { GatewayAnswer, GatewayService, OpenOptions } from '../gateway/gateway.service';
import { RequestMirror, type MirroredRequest } from '../gateway/request-mirror';
import { MetricsRegistry } from '../metrics/metrics.registry';
import type { CanonicalRequest, StreamEvent } from '../protocol/types';
import type { ProviderRegistryService } from '../providers/provider-registry.service';
import type { QueueService } from '../queue/queue.service';
import type { RoutedRequest } from '../routing/routing.service';
import { ShadowMetrics } from './shadow-metrics';
import { ShadowService } from './shadow.service';
import { answerEvents } from './shadow.test-helpers';

type Shadow = SwitchyardConfig['Shadow'];

function answerOf(events: StreamEvent[]): GatewayAnswer {
  let i = 1;
  return {
    route: { scenario: 'default', target: 'trial,m', fallbacks: [] } as unknown as RoutedRequest,
    target: 'trial,m',
    head: [events[0]],
    events: {
      next: () =>
        Promise.resolve(
          i < events.length ? { done: false, value: events[i++] } : { done: true, value: undefined },
        ),
    },
    cache: 'MISS',
    attempts: [],
  };
}

const started: ShadowService[] = [];
afterEach(() => started.splice(0).forEach((s) => s.onApplicationShutdown()));

function rig(shadow: Partial<Shadow> = {}, open?: (opts: OpenOptions) => Promise<GatewayAnswer>) {
  const settings: Shadow = {
    enabled: true,
    share: 1,
    target: 'trial,m',
    features: {},
    maxConcurrent: 2,
    maxLagMs: 60_000,
    keep: 10,
    timeoutMs: 60_000,
    ...shadow,
  };
  const config = {
    get: (key: string) =>
      key === 'Shadow' ? settings : key === 'Metrics' ? { processMetrics: false } : undefined,
  } as unknown as AppConfigService;
  const opened: OpenOptions[] = [];
  const gateway = {
    open: (_request: CanonicalRequest, opts: OpenOptions) => {
      opened.push(opts);
      return open ? open(opts) : Promise.resolve(answerOf(answerEvents(['copy'])));
    },
  } as unknown as GatewayService;
  const queue = { localWaiting: () => 0, mode: 'local' } as unknown as QueueService;
  const targets = {
    view: () => ({ state: 'closed', cooldownUntil: null }),
  } as unknown as TargetStateService;
  const providers = {
    canonical: (t: string) => (t.startsWith('trial,') || t.startsWith('openai,') ? t : undefined),
  } as unknown as ProviderRegistryService;
  const logger = { setContext: () => undefined, warn: () => undefined } as unknown as PinoLogger;
  const mirror = new RequestMirror();
  const outcomes = new RequestOutcomeService();
  const service = new ShadowService(
    config,
    gateway,
    mirror,
    outcomes,
    queue,
    targets,
    providers,
    new ShadowMetrics(new MetricsRegistry(config)),
    logger,
  );
  service.onModuleInit();
  started.push(service);
  return { service, mirror, outcomes, opened, settings };
}

const request = (id: string): MirroredRequest => ({
  requestId: id,
  request: {
    model: 'claude',
    max_tokens: 10,
    messages: [{ role: 'user', content: 'hi' }],
  },
  headers: {},
});

const outcome = (id: string): RequestOutcome => ({
  startedAt: Date.now(),
  requestId: id,
  route: 'messages',
  status: 200,
  stream: false,
  attempts: 1,
  failovers: 0,
  durationMs: 5,
  target: 'openai,gpt',
  usage: { input_tokens: 10, output_tokens: 20 },
});

const settle = () => new Promise((r) => setImmediate(r));

describe('ShadowService', () => {
  it('mirrors as a shadow open (direct, trial target, features) and compares once the primary is in', async () => {
    const { service, mirror, outcomes, opened } = rig({ features: { cache: false, nope: true } });
    const tap = mirror.start(request('r1'));
    expect(tap).toBeDefined();
    expect(opened[0]).toMatchObject({
      direct: true,
      shadow: true,
      targetOverride: 'trial,m',
      requestId: 'r1',
    });
    expect(opened[0].features).toMatchObject({ cache: false, dedup: true });
    expect(opened[0].onUsage).toBeUndefined(); // nothing settles the client's rate limit
    expect(opened[0].observation).toBeUndefined(); // nor its outcome
    await settle();
    expect(service.view().recent).toHaveLength(0); // the primary is not in yet
    outcomes.emit(outcome('r1'));
    const view = service.view();
    expect(view.recent).toHaveLength(1);
    expect(view.recent[0]).toMatchObject({
      requestId: 'r1',
      variant: { target: 'trial,m', features: { cache: false } },
      shadow: { outcome: 'ok', outputTokens: 20 },
      primary: { outcome: 'ok', outputTokens: 20 },
    });
    expect(view.config.unknownFeatures).toEqual(['nope']);
    expect(view.counters).toMatchObject({ sampled: 1, mirrored: 1, completed: 1 });
  });

  it('declines without sampling when disabled or share 0', () => {
    for (const settings of [{ enabled: false }, { share: 0 }]) {
      const { service, mirror, opened } = rig(settings);
      expect(mirror.start(request('r'))).toBeUndefined();
      expect(opened).toHaveLength(0);
      expect(service.view().counters.sampled).toBe(0);
    }
  });

  it('drops an unknown target and a request id already being compared', async () => {
    const unknown = rig({ target: 'nowhere,m' });
    expect(unknown.mirror.start(request('r'))).toBeUndefined();
    expect(unknown.service.view().counters.dropped.unknown_target).toBe(1);

    const { service, mirror } = rig();
    mirror.start(request('same'));
    expect(mirror.start(request('same'))).toBeUndefined();
    await settle();
    expect(service.view().counters.dropped.duplicate_id).toBe(1);
  });

  it('at maxConcurrent running copies: dropped, and admitted again once one ends', async () => {
    const releases: (() => void)[] = [];
    const { service, mirror } = rig(
      { maxConcurrent: 2 },
      () => new Promise((resolve) => releases.push(() => resolve(answerOf(answerEvents(['x']))))),
    );
    mirror.start(request('a'));
    mirror.start(request('b'));
    expect(mirror.start(request('c'))).toBeUndefined();
    expect(service.view()).toMatchObject({ inFlight: 2, counters: { dropped: { concurrency: 1 } } });
    releases[0]();
    await settle();
    expect(mirror.start(request('d'))).toBeDefined();
  });

  it('copies waiting for a primary that never reports stay bounded, and are given up after timeoutMs', async () => {
    // timeoutMs well above the loop below even on a loaded CI box (at 30 ms the first copies timed out mid-loop).
    const { service, mirror } = rig({ maxConcurrent: 2, timeoutMs: 400 });
    for (let i = 0; i < 20; i++) {
      mirror.start(request(`p${i}`));
      await settle();
    }
    // 4 × maxConcurrent copies may wait for their primaries; the rest were dropped.
    expect(service.view().counters).toMatchObject({
      mirrored: 8,
      dropped: expect.objectContaining({ concurrency: 12 }),
    });
    await new Promise((r) => setTimeout(r, 550));
    expect(service.view().counters.unmatched).toBe(8);
    expect(mirror.start(request('after'))).toBeDefined();
  });

  it('after shutdown nothing is mirrored', () => {
    const { service, mirror } = rig();
    service.beforeApplicationShutdown();
    expect(mirror.start(request('late'))).toBeUndefined();
    expect(service.view().counters.dropped.shutdown).toBe(1);
  });
});
