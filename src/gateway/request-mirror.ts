import { Injectable } from '@nestjs/common';
import type { CachePolicy } from '../cache/cache.types';
import type { FeatureSet } from '../features/feature-set';
import type { CanonicalRequest, StreamEvent } from '../protocol/types';
import type { GatewayAnswer } from './gateway.service';

/** A client request as a mirror sees it when it starts, before the primary's answer is opened. */
export interface MirroredRequest {
  requestId: string;
  request: CanonicalRequest;
  headers: Record<string, string | string[] | undefined>;
  cachePolicy?: CachePolicy;
  clientKey?: string;
  /** The primary's feature decision; absent = every feature on. */
  features?: FeatureSet;
}

/** Hears the primary's answer as it is sent; it can never change it. */
export interface MirrorTap {
  /** The answer is open (its first event in hand). */
  opened(answer: GatewayAnswer): void;
  event(ev: StreamEvent): void;
  /** The answer's events are finished, abandoned or failed (called once). */
  ended(): void;
}

/** Starts a mirror of the request, or declines (undefined); must not throw nor wait. */
export type Mirror = (request: MirroredRequest) => MirrorTap | undefined;

function quietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // a mirror's failure must never reach the primary's answer
  }
}

/**
 * Where the shadow runs (src/shadow) plug into the request path without the gateway depending on them:
 * ShadowModule registers a mirror here, the responder starts it beside every client request and lets it
 * watch the answer it sends.
 */
@Injectable()
export class RequestMirror {
  private mirror?: Mirror;

  /** One mirror at a time; returns the unregister. */
  register(mirror: Mirror): () => void {
    this.mirror = mirror;
    return () => {
      if (this.mirror === mirror) {
        this.mirror = undefined;
      }
    };
  }

  start(request: MirroredRequest): MirrorTap | undefined {
    const mirror = this.mirror;
    if (!mirror) {
      return undefined;
    }
    let tap: MirrorTap | undefined;
    quietly(() => (tap = mirror(request)));
    return tap;
  }

  /** The same answer, its events passed on untouched while `tap` hears them. */
  watch(answer: GatewayAnswer, tap: MirrorTap): GatewayAnswer {
    quietly(() => tap.opened(answer));
    for (const ev of answer.head) {
      quietly(() => tap.event(ev));
    }
    const inner = answer.events;
    let done = false;
    const end = (): void => {
      if (!done) {
        done = true;
        quietly(() => tap.ended());
      }
    };
    const events: AsyncIterator<StreamEvent> = {
      next: async () => {
        try {
          const r = await inner.next();
          if (r.done) {
            end();
          } else {
            quietly(() => tap.event(r.value));
          }
          return r;
        } catch (err) {
          end();
          throw err;
        }
      },
      return: async (value?: unknown) => {
        end();
        return (await inner.return?.(value)) ?? { done: true, value: undefined };
      },
    };
    return { ...answer, events };
  }
}
