import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';
import { PinoLogger } from 'nestjs-pino';
import { AppConfigService } from '../config/config.service';
import { endOpenStreams } from '../gateway/egress-writer';

/** After the streams' terminal events are written, the connections are closed this much later. */
const LAST_WORD_MS = 100;

/**
 * Graceful shutdown, from the first stop signal:
 * - the listener closes at once (new connections are refused, idle keep-alive sockets close), and a model
 *   request arriving on a connection still open is answered 503 `overloaded_error` with `retry-after`
 *   (RequestArrivalHook reads `draining`) — nothing new starts, so nothing new can be stranded while other
 *   modules (the queue workers) drain;
 * - requests in flight run to completion;
 * - after `Server.shutdownGraceMs`, the streams still open end with a terminal `error` event, then every
 *   connection is closed, so the process cannot hang on a stalled stream.
 * Nest closes Fastify after every module's shutdown hooks; that second close finds the listener closed.
 */
@Injectable()
export class ShutdownService implements BeforeApplicationShutdown {
  private drainingSince?: number;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: AppConfigService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('shutdown');
  }

  /** The process is shutting down: new model requests are turned away. */
  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  beforeApplicationShutdown(signal?: string): void {
    this.begin(signal);
  }

  /**
   * Starts the drain (idempotent). Nest runs the deepest modules' shutdown hooks first, so a module whose
   * hook waits (the queue workers finishing their jobs) calls this before it waits.
   */
  begin(signal?: string): void {
    if (this.drainingSince !== undefined) {
      return;
    }
    const graceMs = this.config.get('Server').shutdownGraceMs;
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    this.drainingSince = Date.now();
    this.logger.info({ signal, graceMs }, 'shutting down: finishing in-flight requests');
    if (!server) {
      return;
    }
    if (server.listening) {
      server.close();
    }
    const timer = setTimeout(() => {
      const streams = endOpenStreams('the gateway is shutting down: retry the request');
      this.logger.warn({ graceMs, streams }, 'grace period over: closing remaining connections');
      setTimeout(() => server.closeAllConnections(), LAST_WORD_MS).unref();
    }, graceMs);
    timer.unref();
    server.once('close', () => clearTimeout(timer));
  }
}
