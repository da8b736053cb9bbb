import { createServer } from 'node:net';

/** The listen address cannot be bound: a startup problem the operator fixes, reported as one line. */
export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenError';
  }
}

/** A bind failure (from the probe or from the real listen) as a ListenError; anything else as it is. */
export function listenError<E>(err: E, host: string, port: number): E | ListenError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') {
    return new ListenError(`port ${port} on ${host} is already in use`);
  }
  if (code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new ListenError(`cannot listen on port ${port} on ${host}: ${(err as Error).message}`);
  }
  return err;
}

/**
 * Binds host:port once and lets go, so that a taken port fails the boot before the application is built:
 * Nest logs "application successfully started" in init(), ahead of the listen that would then fail.
 * Port 0 (ephemeral) is always free.
 */
export async function probeListen(host: string, port: number): Promise<void> {
  if (port === 0) {
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err) => reject(listenError(err, host, port)));
    probe.listen({ port, host }, () => probe.close(() => resolve()));
  });
}
