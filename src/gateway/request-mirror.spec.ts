import type { StreamEvent } from '../protocol/types';
import type { RoutedRequest } from '../routing/routing.service';
import type { GatewayAnswer } from './gateway.service';
import { RequestMirror, type MirroredRequest, type MirrorTap } from './request-mirror';

const ev = (text: string): StreamEvent => ({
  type: 'content_block_delta',
  index: 0,
  delta: { type: 'text_delta', text },
});

function answer(rest: StreamEvent[]): { answer: GatewayAnswer; returned: () => boolean } {
  let i = 0;
  let returned = false;
  return {
    answer: {
      route: {} as RoutedRequest,
      target: 't,m',
      head: [ev('head')],
      events: {
        next: () =>
          Promise.resolve(
            i < rest.length ? { done: false, value: rest[i++] } : { done: true, value: undefined },
          ),
        return: () => {
          returned = true;
          return Promise.resolve({ done: true, value: undefined });
        },
      },
      cache: 'MISS',
      attempts: [],
    },
    returned: () => returned,
  };
}

const request = { requestId: 'r1' } as MirroredRequest;

describe('RequestMirror', () => {
  it('without a mirror: nothing starts', () => {
    expect(new RequestMirror().start(request)).toBeUndefined();
  });

  it('a mirror that throws never reaches the caller', () => {
    const mirror = new RequestMirror();
    mirror.register(() => {
      throw new Error('boom');
    });
    expect(mirror.start(request)).toBeUndefined();
  });

  it('watch passes every event on untouched while the tap hears them, and ends once', async () => {
    const heard: string[] = [];
    let ended = 0;
    const tap: MirrorTap = {
      opened: () => heard.push('opened'),
      event: (e) => {
        heard.push(e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : e.type);
        throw new Error('a tap that throws changes nothing');
      },
      ended: () => (ended += 1),
    };
    const mirror = new RequestMirror();
    const off = mirror.register(() => tap);
    const { answer: a, returned } = answer([ev('a'), ev('b')]);
    const watched = mirror.watch(a, mirror.start(request) as MirrorTap);
    expect(watched.head).toBe(a.head);
    const seen: StreamEvent[] = [];
    for (let next = await watched.events.next(); !next.done; next = await watched.events.next()) {
      seen.push(next.value);
    }
    expect(seen).toEqual([ev('a'), ev('b')]);
    await watched.events.return?.(undefined);
    expect(returned()).toBe(true);
    expect(heard).toEqual(['opened', 'head', 'a', 'b']);
    expect(ended).toBe(1);
    off();
    expect(mirror.start(request)).toBeUndefined();
  });
});
