import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppConfigService } from '../config/config.service';
import { GatewayError } from '../protocol/errors';
import { IS_PUBLIC } from './public.decorator';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** The key a client presented: `x-api-key`, else `Authorization: Bearer <key>` (Claude Code sends either). */
export function presentedKey(headers: FastifyRequest['headers']): string | undefined {
  const xApiKey = headers['x-api-key'];
  if (typeof xApiKey === 'string' && xApiKey.length > 0) {
    return xApiKey;
  }
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (match) {
      return match[1].trim();
    }
  }
  return undefined;
}

/**
 * CCR's APIKEY semantics: when set, every route except health needs the key. Comparison is over
 * fixed-length digests so neither the length nor the content leaks through timing.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private digested?: { key: string; digest: Buffer };

  constructor(
    private readonly config: AppConfigService,
    private readonly reflector: Reflector,
  ) {}

  /** The configured key's digest, read per request so that a config reload of APIKEY applies at once. */
  private get expected(): Buffer | undefined {
    const key = this.config.apiKey;
    if (!key) {
      return undefined;
    }
    if (this.digested?.key !== key) {
      this.digested = { key, digest: digest(key) };
    }
    return this.digested.digest;
  }

  canActivate(context: ExecutionContext): boolean {
    const expected = this.expected;
    if (!expected) {
      return true;
    }
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) {
      return true;
    }
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const key = presentedKey(request.headers);
    if (key !== undefined && timingSafeEqual(digest(key), expected)) {
      return true;
    }
    throw new GatewayError(
      401,
      key === undefined ? 'Missing API key: send x-api-key or Authorization: Bearer' : 'Invalid API key',
      {
        type: 'authentication_error',
      },
    );
  }
}
