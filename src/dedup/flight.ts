import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { PinoLogger } from 'nestjs-pino';
import { GatewayError } from '../protocol/errors';
import type { StreamEvent } from '../protocol/types';
import { errorEventFor, serializeError } from './dedup-errors';
import type { DedupSettings, LeaderCall } from './dedup.types';
import { EventLog } from './event-log';
import { eventSize } from './event-size';
import type { Subscriber } from './subscriber';
import type { ReaderPool } from './reader-pool';
import { flightIdOf, type DedupKeys, type EndMarker } from './redis-keys';
import { ResumeSink } from './resume-sink';
import { StreamPublisher } from './stream-publisher';
import { followStream, type RemoteOutcome } from './stream-follower';

export interface FlightDeps {
  settings: DedupSettings;
  /** Present when the answer may be shared with other instances through Redis. */
  keys?: DedupKeys;
  redis: () => Redis | undefined;
  pool: ReaderPool;
  instanceId: string;
  /** Added to XREAD BLOCK for the reader's command timeout. */
  readerSlackMs: number;
  logger: PinoLogger;
  onTakeover(): void;
  onSlow(): void;
  onRetire(): void;
  onSettled(): void;
}

type Plan = { kind: 'own'; publisher?: StreamPublisher } | { kind: 'remote'; owner: string };

function toIterator(
  source: AsyncIterable<StreamEvent> | AsyncIterator<StreamEvent>,
): AsyncIterator<StreamEvent> {
  return Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source;
}

async function closeQuietly(iterator: AsyncIterator<unknown> | undefined): Promise<void> {
  try {
    await iterator?.return?.();
  } catch {
    // the source is being discarded; its cleanup error changes nothing for the subscribers
  }
}

/**
 * One shared answer: its event log and the source feeding it. The source is this process's own upstream
 * call (publishing to Redis when it holds the cross-instance lock) or another instance's leader read from
 * Redis; when that leader goes away the flight re-elects and, usually, takes over with its own call.
 */
export class Flight {
  readonly log: EventLog;
  private readonly upstream = new AbortController();
  /** The subscriber whose leaderCall is producing events right now. */
  private caller?: Subscriber;
  private following = false;
  private ownWanted = false;
  private stopFollowing?: AbortController;

  constructor(
    private readonly deps: FlightDeps,
    joinable: boolean,
  ) {
    this.log = new EventLog(deps.settings.maxLogBytes, joinable, {
      onEmpty: (reason) => this.upstream.abort(reason),
      onSlow: () => deps.onSlow(),
      onRetire: () => deps.onRetire(),
    });
  }

  isCaller(sub: Subscriber): boolean {
    return this.caller === sub;
  }

  /** True while a local subscriber's leaderCall runs (as opposed to electing or following a remote leader). */
  get callingLocally(): boolean {
    return this.caller !== undefined;
  }

  get followingRemote(): boolean {
    return this.following;
  }

  start(leaderCall: LeaderCall, signal: AbortSignal): Subscriber {
    const sub = this.log.subscribe(leaderCall, signal);
    void this.run();
    return sub;
  }

  /** Followers waited Dedup.maxWaitMs for a first event from elsewhere: make our own call instead. */
  preferOwnCall(): void {
    this.ownWanted = true;
    this.stopFollowing?.abort();
  }

  cancel(reason: unknown): void {
    this.upstream.abort(reason);
  }

  private async run(): Promise<void> {
    try {
      let plan = await this.plan();
      while (plan && !this.upstream.signal.aborted) {
        plan = plan.kind === 'own' ? await this.runOwn(plan.publisher) : await this.follow(plan.owner);
      }
      if (plan?.kind === 'own') {
        await plan.publisher?.end({ kind: 'abandoned' });
      }
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'dedup: flight failed');
      this.log.fail(err);
    } finally {
      // Whatever happened, nobody may wait for this log forever.
      this.log.fail(this.upstream.signal.reason ?? new Error('the shared answer ended without an event'));
      this.deps.onSettled();
    }
  }

  /** Cross-instance election: SET NX PX makes us the leader; otherwise follow the lock's owner. */
  private async plan(): Promise<Plan | undefined> {
    const { keys, settings } = this.deps;
    if (!keys || this.ownWanted || !this.log.joinable) {
      return { kind: 'own' };
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const client = this.deps.redis();
      if (!client) {
        return { kind: 'own' };
      }
      const flightId = randomUUID();
      const token = `${this.deps.instanceId}:${flightId}`;
      try {
        if ((await client.set(keys.lock, token, 'PX', settings.lockTtlMs, 'NX')) === 'OK') {
          const logKey = keys.log(flightId);
          const publisher = new StreamPublisher({
            client: this.deps.redis,
            lockKey: keys.lock,
            logKey,
            token,
            settings,
            logger: this.deps.logger,
          });
          return { kind: 'own', publisher };
        }
        const owner = await client.get(keys.lock);
        if (owner) {
          return { kind: 'remote', owner };
        }
        // The lock was released between the two commands: elect again.
      } catch (err) {
        this.deps.logger.debug({ err: (err as Error).message }, 'dedup: Redis election failed; local only');
        return { kind: 'own' };
      }
    }
    return { kind: 'own' };
  }

  private emit(event: StreamEvent, sink: ResumeSink, publisher?: StreamPublisher): void {
    publisher?.push(JSON.stringify(event));
    sink.push(event, eventSize(event));
  }

  private async runOwn(publisher?: StreamPublisher): Promise<undefined> {
    const caller = this.log.oldest();
    const signal = this.upstream.signal;
    let marker: EndMarker = { kind: 'abandoned' };
    let iterator: AsyncIterator<StreamEvent> | undefined;
    let produced = false;
    const sink = new ResumeSink(this.log);
    try {
      if (!caller || signal.aborted) {
        return undefined;
      }
      this.caller = caller;
      publisher?.start();
      iterator = toIterator(await caller.leaderCall(signal));
      for (;;) {
        if (!sink.verifying) {
          await this.log.demand(signal);
        }
        if (signal.aborted) {
          break;
        }
        const step = await iterator.next();
        if (step.done) {
          break;
        }
        produced = true;
        this.emit(step.value, sink, publisher);
      }
      if (!signal.aborted) {
        if (!produced) {
          throw new GatewayError(502, 'upstream ended without answering', { type: 'api_error' });
        }
        sink.end();
        this.log.finish();
        marker = { kind: 'done' };
      }
    } catch (err) {
      if (signal.aborted) {
        // The last subscriber left; whatever the source threw is the consequence.
      } else if (!produced) {
        marker = { kind: 'failed', error: serializeError(err) };
        this.log.fail(err);
      } else {
        this.emit(errorEventFor(err), sink, publisher);
        sink.end();
        this.log.finish();
        marker = { kind: 'done' };
      }
    } finally {
      this.caller = undefined;
      await closeQuietly(iterator);
      await publisher?.end(marker);
    }
    return undefined;
  }

  private async follow(owner: string): Promise<Plan | undefined> {
    const keys = this.deps.keys as DedupKeys;
    const stop = new AbortController();
    this.stopFollowing = stop;
    this.following = true;
    if (this.ownWanted) {
      stop.abort();
    }
    const signal = AbortSignal.any([this.upstream.signal, stop.signal]);
    const sink = new ResumeSink(this.log);
    const source = followStream({
      pool: this.deps.pool,
      lockKey: keys.lock,
      logKey: keys.log(flightIdOf(owner)),
      owner,
      blockMs: this.deps.settings.heartbeatMs,
      slackMs: this.deps.readerSlackMs,
      signal,
    });
    let outcome: RemoteOutcome = { kind: 'stopped' };
    try {
      for (;;) {
        if (!sink.verifying) {
          await this.log.demand(signal);
        }
        if (signal.aborted) {
          break;
        }
        const step = await source.next();
        if (step.done) {
          outcome = step.value;
          break;
        }
        this.emit(step.value, sink);
      }
    } finally {
      this.following = false;
      this.stopFollowing = undefined;
      await source.return({ kind: 'stopped' });
    }
    switch (outcome.kind) {
      case 'done':
        sink.end();
        this.log.finish();
        return undefined;
      case 'failed':
        this.log.fail(outcome.error);
        return undefined;
      case 'stopped':
        return this.upstream.signal.aborted ? undefined : { kind: 'own' };
      case 'gone': {
        this.deps.logger.info(
          { reason: outcome.reason },
          'dedup: leader on another instance is gone; re-electing',
        );
        const next = await this.plan();
        if (next?.kind === 'own') {
          this.deps.onTakeover();
        }
        return next;
      }
    }
  }
}
