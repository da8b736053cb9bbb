import net from 'node:net';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A loopback socket pair: bytes written on `server` are sitting in `client`'s socket at once. */
export async function socketPair(): Promise<{ client: net.Socket; server: net.Socket; close: () => void }> {
  let server: net.Socket | undefined;
  const listener = net.createServer((s) => (server = s));
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  while (!server) {
    await sleep(1);
  }
  const accepted = server;
  return {
    client,
    server: accepted,
    close: () => {
      client.destroy();
      accepted.destroy();
      listener.close();
    },
  };
}

/**
 * This process's own loop blocked for `ms` (a burst, a long GC): nothing else runs meanwhile. Called from
 * the check phase (after `await checkPhase()`), the next loop turn runs its due timers before it reads any
 * socket — the order that makes a deadline blame an upstream for the gateway's own stall.
 */
export function block(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy
  }
}

export const checkPhase = (): Promise<void> => new Promise((r) => setImmediate(r));
