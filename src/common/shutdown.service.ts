import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';
import { PinoLogger } from 'nestjs-pino';
import { AppConfigService } from '../config/config.service';

/**
 * Graceful shutdown. Nest closes Fastify after this hook: the listener stops accepting, idle keep-alive
 * sockets close, and in-flight requests run to completion. Requests still open after the grace period
 * are cut so the process cannot hang on a stalled stream.
 */
@Injectable()
export class ShutdownService implements BeforeApplicationShutdown {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: AppConfigService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('shutdown');
  }

  beforeApplicationShutdown(signal?: string): void {
    const graceMs = this.config.get('Server').shutdownGraceMs;
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    this.logger.info({ signal, graceMs }, 'shutting down: finishing in-flight requests');
    if (!server) {
      return;
    }
    const timer = setTimeout(() => {
      this.logger.warn({ graceMs }, 'grace period over: closing remaining connections');
      server.closeAllConnections();
    }, graceMs);
    timer.unref();
    server.once('close', () => clearTimeout(timer));
  }
}
