/** A loopback upstream for the pool specs: counts TCP connections and requests, answers slowly on demand. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { PoolLogger } from '../../src/providers/pool-maintenance';

export interface UpstreamServer {
  origin: string;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Sockets open right now. */
  readonly open: number;
  readonly requests: Array<{ method: string; url: string }>;
  /** Requests being answered right now. */
  readonly inFlight: number;
  close(): Promise<void>;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export function ok(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
}

/** Answers after `ms` (warm-up probes, `GET /`, at once). */
export const slow =
  (ms: number): UpstreamHandler =>
  (req, res) => {
    if (isProbe(req)) {
      return ok(req, res);
    }
    setTimeout(() => ok(req, res), ms);
  };

export const isProbe = (r: { method?: string; url?: string }): boolean => r.method === 'GET' && r.url === '/';

export async function startUpstream(handler: UpstreamHandler = ok, port = 0): Promise<UpstreamServer> {
  const sockets = new Set<Socket>();
  const requests: Array<{ method: string; url: string }> = [];
  let connections = 0;
  let inFlight = 0;
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '' });
    inFlight++;
    res.on('close', () => inFlight--);
    req.resume();
    req.on('end', () => void Promise.resolve(handler(req, res)).catch(() => res.destroy()));
  });
  // Long on the server side so that only the client decides when an idle socket goes.
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${bound}`,
    get connections() {
      return connections;
    },
    get open() {
      return sockets.size;
    },
    requests,
    get inFlight() {
      return inFlight;
    },
    close: async () => {
      for (const s of sockets) {
        s.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on. */
export async function refusedOrigin(): Promise<string> {
  const s = await startUpstream();
  const origin = s.origin;
  await s.close();
  return origin;
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn';
  obj: object;
  msg: string;
}

export function recordingLogger(): PoolLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    debug: (obj, msg) => lines.push({ level: 'debug', obj, msg }),
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
  };
}

export const POOLS = {
  warmup: true,
  warmConnections: 4,
  warmupTimeoutMs: 2000,
  healthPingMs: 0,
  autoTune: false,
  minConnections: 4,
  maxConnections: 256,
  tuneIntervalMs: 5000,
};
