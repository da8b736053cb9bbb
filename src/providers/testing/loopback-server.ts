import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/** A request as the fake upstream saw it. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  json(): any;
}

export type Handler = (req: SeenRequest, res: ServerResponse) => unknown;

/**
 * Real HTTP on 127.0.0.1 for unit specs: records requests, counts TCP connections and response closes, and
 * lets a test end sockets abruptly (cut streams). Each spec owns and closes its server.
 */
export class LoopbackServer {
  readonly requests: SeenRequest[] = [];
  connections = 0;
  /** Responses whose socket closed before `end()` (the client aborted). */
  abortedResponses = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private closeWaiters: Array<() => void> = [];

  private constructor(handler: Handler) {
    this.server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const body = Buffer.concat(parts).toString('utf8');
        const seen: SeenRequest = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body,
          json: () => JSON.parse(body),
        };
        this.requests.push(seen);
        res.on('close', () => {
          if (!res.writableEnded) {
            this.abortedResponses++;
            this.closeWaiters.splice(0).forEach((w) => w());
          }
        });
        void Promise.resolve(handler(seen, res)).catch((err: unknown) => {
          res.destroy(err as Error);
        });
      });
    });
    this.server.on('connection', (socket: Socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(handler: Handler): Promise<LoopbackServer> {
    const s = new LoopbackServer(handler);
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get origin(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  url(path = '/'): string {
    return this.origin + path;
  }

  /** Resolves when a response is closed by the client before it ended. */
  waitForAbortedResponse(): Promise<void> {
    return this.abortedResponses > 0
      ? Promise.resolve()
      : new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) {
      s.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Writes SSE `data:` payloads (and optional `event:` lines) as separate TCP writes. */
export function writeSse(
  res: ServerResponse,
  events: Array<string | { event?: string; data: string }>,
  end = true,
): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const ev of events) {
    const e = typeof ev === 'string' ? { data: ev } : ev;
    res.write(`${e.event ? `event: ${e.event}\n` : ''}data: ${e.data}\n\n`);
  }
  if (end) {
    res.end();
  }
}

/** Ends the response's TCP connection without a proper chunked terminator: a cut stream. */
export function cutConnection(res: ServerResponse): void {
  res.socket?.destroy();
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A minimal HTTP CONNECT proxy that counts tunnels. */
export class ConnectProxy {
  tunnels = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  private constructor() {
    this.server = createServer((_req, res) => {
      res.writeHead(405).end();
    });
    this.server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
      this.tunnels++;
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => s.destroy());
        s.on('close', () => this.sockets.delete(s));
      }
    });
  }

  static async start(): Promise<ConnectProxy> {
    const p = new ConnectProxy();
    await new Promise<void>((resolve) => p.server.listen(0, '127.0.0.1', resolve));
    return p;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) {
      s.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
