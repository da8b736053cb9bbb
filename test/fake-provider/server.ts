/** The fake LLM provider: a plain node:http server (cheap on purpose — benchmarks measure the gateway). */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mergeBehaviour } from './behaviour';
import { errorBody } from './errors';
import { answerGeneration, resolveRequestBehaviour } from './generate';
import { Exchange, sendJson } from './playback';
import { DirectiveError, estimateInputTokens } from './request-inspect';
import { RequestLog } from './request-log';
import { modelInfo, modelsBody, readBody, routeOf } from './routes';
import { BUILTIN_BEHAVIOUR, type FakeBehaviour, type FakeProvider, type FakeProviderOptions } from './types';

export { FAKE_MODELS } from './routes';

export async function startFakeProvider(opts: FakeProviderOptions = {}): Promise<FakeProvider> {
  const defaults = mergeBehaviour(BUILTIN_BEHAVIOUR, opts.defaults);
  let current = defaults;
  const log = new RequestLog(Math.max(1, opts.maxRecorded ?? 10_000));
  const recordBodies = opts.recordBodies ?? true;
  const exchanges = new Set<Exchange>();
  let closing = false;
  let closed: Promise<void> | null = null;

  const configure = (b: Partial<FakeBehaviour>) => {
    current = mergeBehaviour(current, b);
  };
  const reset = () => {
    current = defaults;
    log.reset();
  };

  async function control(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const raw = req.method === 'POST' ? await readBody(req) : null;
    switch (url.pathname) {
      case '/__fake/health':
        return sendJson(res, 200, { ok: true, inFlight: log.inFlight() });
      case '/__fake/stats':
        return sendJson(res, 200, {
          requests: log.count(),
          openai: log.count({ api: 'openai' }),
          anthropic: log.count({ api: 'anthropic' }),
          gemini: log.count({ api: 'gemini' }),
          inFlight: log.inFlight(),
          maxInFlight: log.maxInFlight(),
          refusedConnections: log.refusedConnections(),
        });
      case '/__fake/requests': {
        const limit = Number(url.searchParams.get('limit') ?? 100);
        return sendJson(res, 200, log.requests.slice(-Math.max(1, limit)));
      }
      case '/__fake/configure':
        configure(raw && raw.length > 0 ? (JSON.parse(raw.toString('utf8')) as Partial<FakeBehaviour>) : {});
        return sendJson(res, 200, current);
      case '/__fake/reset':
        reset();
        return sendJson(res, 200, current);
      default:
        return sendJson(res, 404, errorBody('other', 404, `unknown control path ${url.pathname}`));
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake.local');
    if (url.pathname.startsWith('/__fake/')) {
      return control(req, res, url);
    }
    const method = req.method ?? 'GET';
    const route = routeOf(method, url.pathname);
    const ex = new Exchange(req, res);
    const rec = log.begin({
      at: Date.now(),
      method,
      path: url.pathname,
      headers: req.headers,
      body: undefined,
      api: route.api,
      stream: route.stream ?? false,
      model: route.model,
      closedByClient: false,
    });
    exchanges.add(ex);
    res.on('close', () => {
      exchanges.delete(ex);
      const byClient = !res.writableFinished && !ex.killedByServer && !closing;
      ex.finish();
      log.end(rec, byClient);
    });

    let raw: Buffer | null;
    try {
      raw = await readBody(req);
    } catch {
      return; // the client left; 'close' records it
    }
    const reply = (status: number, body: unknown) => {
      rec.status = status;
      sendJson(res, status, body);
    };
    if (raw === null) {
      return reply(413, errorBody(route.api, 413, 'request body too large'));
    }
    let body: any = undefined;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        rec.body = recordBodies ? raw.toString('utf8') : undefined;
        return reply(400, errorBody(route.api, 400, 'fake provider: request body is not valid JSON'));
      }
    }
    rec.body = recordBodies ? body : undefined;

    switch (route.kind) {
      case 'unknown':
        return reply(404, errorBody('other', 404, `fake provider: no route for ${method} ${url.pathname}`));
      case 'model':
        log.changed();
        return reply(200, modelInfo(route.model ?? 'fake-model'));
      case 'models':
      case 'gemini-models':
        log.changed();
        return reply(200, modelsBody(route.kind));
      case 'count_tokens':
        log.changed();
        if (current.fault?.type === 'hang') {
          // A count endpoint that never answers (audit A-F5): the gateway must not wait for it.
          rec.fault = 'hang';
          return ex.hold();
        }
        return reply(200, { input_tokens: estimateInputTokens(body) });
      case 'openai':
      case 'anthropic':
      case 'gemini':
        break;
    }
    if (method !== 'POST') {
      return reply(405, errorBody(route.api, 405, `fake provider: ${method} not allowed`));
    }
    const model = typeof body?.model === 'string' ? body.model : (route.model ?? 'fake-model');
    rec.model = model;
    rec.stream = route.kind === 'gemini' ? Boolean(route.stream) : body?.stream === true;
    log.changed();

    let header: Partial<FakeBehaviour> | null = null;
    const headerValue = req.headers['x-fake-behaviour'];
    try {
      if (typeof headerValue === 'string' && headerValue.trim() !== '') {
        header = JSON.parse(headerValue) as Partial<FakeBehaviour>;
      }
    } catch (e) {
      return reply(
        400,
        errorBody(route.api, 400, `invalid x-fake-behaviour header: ${(e as Error).message}`),
      );
    }
    const g = {
      api: route.kind,
      ex,
      rec,
      body,
      stream: rec.stream,
      sse: url.searchParams.get('alt') === 'sse',
      model,
      base: current,
      header,
    };
    let behaviour: FakeBehaviour;
    try {
      behaviour = resolveRequestBehaviour(g);
    } catch (e) {
      if (e instanceof DirectiveError) {
        return reply(400, errorBody(route.api, 400, e.message));
      }
      throw e;
    }
    await answerGeneration(g, behaviour);
  }

  const server = createServer(
    { noDelay: true, requestTimeout: 120_000, headersTimeout: 30_000 },
    (req, res) => {
      handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) {
          sendJson(res, 500, errorBody('other', 500, `fake provider bug: ${(e as Error).message}`));
        } else {
          res.destroy();
        }
      });
    },
  );
  server.keepAliveTimeout = 65_000;
  server.on('connection', (socket) => {
    if (current.fault?.type === 'refuse') {
      log.countRefused();
      socket.resetAndDestroy();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  // A wildcard bind is still reached through loopback.
  const reachable =
    address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  const host = address.family === 'IPv6' ? `[${reachable}]` : reachable;

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    requests: log.requests,
    count: (filter) => log.count(filter),
    configure,
    reset,
    waitFor: (pred, timeoutMs) => log.waitFor(pred, timeoutMs),
    inFlight: () => log.inFlight(),
    maxInFlight: () => log.maxInFlight(),
    refusedConnections: () => log.refusedConnections(),
    behaviour: () => ({ ...current }),
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        log.rejectAll('fake provider closed');
        server.close(() => resolve());
        server.closeAllConnections();
        for (const ex of exchanges) {
          ex.finish();
        }
      });
      return closed;
    },
  };
}
