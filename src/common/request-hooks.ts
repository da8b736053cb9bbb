import type { Usage } from '../protocol/types';

/** Called once per answer with its final usage and the "provider,model" that served it. */
export type UsageListener = (usage: Usage, target: string, info: { cache: boolean }) => void;

const listeners = new WeakMap<object, UsageListener[]>();

/**
 * Guards and interceptors that must settle something after the answer (rate-limit token reconciliation,
 * session affinity) attach a listener to the raw request; the responder emits the final usage once.
 */
export function onAnswerUsage(raw: object, listener: UsageListener): void {
  const list = listeners.get(raw);
  if (list) {
    list.push(listener);
  } else {
    listeners.set(raw, [listener]);
  }
}

export function emitAnswerUsage(raw: object, usage: Usage, target: string, info: { cache: boolean }): void {
  for (const listener of listeners.get(raw) ?? []) {
    try {
      listener(usage, target, info);
    } catch {
      // a listener's failure must not reach the client's answer
    }
  }
}

/** The Usage listeners of a request, for callers that pass them on as one callback. */
export function usageEmitterFor(raw: object): UsageListener | undefined {
  return listeners.has(raw) ? (usage, target, info) => emitAnswerUsage(raw, usage, target, info) : undefined;
}
