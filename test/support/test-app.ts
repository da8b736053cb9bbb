import type { ModuleMetadata } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/app.factory';
import { loadConfig } from '../../src/config/load-config';
import { LogCapture } from './log-capture';

export interface TestApp {
  app: NestFastifyApplication;
  url: string;
  logs: LogCapture;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** The user config file's content (CCR or Switchyard shape). */
  userConfig?: Record<string, unknown>;
  env?: Record<string, string>;
  imports?: ModuleMetadata['imports'];
  logLevel?: string;
}

/** Starts the real application on an ephemeral loopback port with a private user config file. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-test-'));
  const file = join(dir, 'config.json');
  const user = { ...(options.userConfig ?? {}) };
  if (options.logLevel) {
    user.LOG_LEVEL = options.logLevel;
  }
  writeFileSync(file, JSON.stringify(user));
  const loaded = loadConfig({
    env: { NODE_ENV: 'test', HOME: dir, SWITCHYARD_CONFIG: file, PORT: '0', ...(options.env ?? {}) },
  });
  const logs = new LogCapture();
  const app = await createApp({ loaded, logDestination: logs, imports: options.imports });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, url: `http://127.0.0.1:${port}`, logs, close: () => app.close() };
}
