import { createServer, type Server } from 'node:net';
import { ListenError, listenError, probeListen } from './listen-probe';

describe('probeListen', () => {
  let taken: Server;
  let port: number;
  beforeEach(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    port = (taken.address() as { port: number }).port;
  });
  afterEach(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  it('rejects a port in use with one clear line', async () => {
    const err = await probeListen('127.0.0.1', port).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ListenError);
    expect((err as Error).message).toBe(`port ${port} on 127.0.0.1 is already in use`);
  });

  it('lets a free port go again, and never probes port 0', async () => {
    await new Promise<void>((resolve) => taken.close(() => resolve()));
    await probeListen('127.0.0.1', port);
    await probeListen('127.0.0.1', port); // released by the first probe
    await probeListen('127.0.0.1', 0);
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
  });

  it('passes errors that are not about the address through unchanged', () => {
    const other = new Error('boom');
    expect(listenError(other, '127.0.0.1', 1)).toBe(other);
  });
});
