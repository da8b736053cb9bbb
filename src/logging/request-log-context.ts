import { PinoLogger } from 'nestjs-pino';
import { Store, storage } from 'nestjs-pino/storage';

/**
 * Runs work done for a request outside its HTTP request (a queue worker running the request's job, maybe
 * in another process) under a logger that carries the request's id: its log lines then name the request
 * as the API side's lines do (`requestId`, pino-http's key here).
 */
export function withRequestLogContext<T>(requestId: string | undefined, fn: () => T): T {
  const root = PinoLogger.root as PinoLogger['logger'] | undefined;
  if (!requestId || !root) {
    return fn();
  }
  return storage.run(new Store(root.child({ requestId })), fn);
}
