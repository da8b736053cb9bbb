import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppConfigService } from '../config/config.service';
import { GatewayError } from '../protocol/errors';
import { IS_PUBLIC } from './public.decorator';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

function bearerToken(headers: FastifyRequest['headers']): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (match) {
      return match[1].trim();
    }
  }
  return undefined;
}

function xApiKey(headers: FastifyRequest['headers']): string | undefined {
  const key = headers['x-api-key'];
  return typeof key === 'string' && key.length > 0 ? key : undefined;
}

/**
 * The key that identifies a client (cache partition, rate limits): `x-api-key`, else `Authorization:
 * Bearer <key>` (Claude Code sends either).
 */
export function presentedKey(headers: FastifyRequest['headers']): string | undefined {
  return xApiKey(headers) ?? bearerToken(headers);
}

/**
 * Every credential the client presented. Some send both headers (an Anthropic SDK 0.x or Claude Code with
 * ANTHROPIC_API_KEY and ANTHROPIC_AUTH_TOKEN set: a provider key and the gateway's), and either may be
 * the gateway's key (PROTOCOL.md §1.1).
 */
export function presentedKeys(headers: FastifyRequest['headers']): string[] {
  return [xApiKey(headers), bearerToken(headers)].filter((k): k is string => k !== undefined);
}

/**
 * The presented credentials against the configured key's digest: which of them match (each compared over
 * fixed-length digests, no early exit, so neither the length nor the content leaks through timing), or the
 * 401 to answer.
 */
export function checkApiKey(
  headers: FastifyRequest['headers'],
  expected: Buffer,
): { keys: string[]; matches: boolean[] } | GatewayError {
  const keys = presentedKeys(headers);
  const matches = keys.map((key) => timingSafeEqual(digest(key), expected));
  if (matches.includes(true)) {
    return { keys, matches };
  }
  return new GatewayError(
    401,
    keys.length === 0 ? 'Missing API key: send x-api-key or Authorization: Bearer' : 'Invalid API key',
    { type: 'authentication_error' },
  );
}

/** Digests of configured keys, remembered for the last key seen (a config reload of APIKEY applies at once). */
export class KeyDigest {
  private digested?: { key: string; digest: Buffer };

  of(key: string | undefined): Buffer | undefined {
    if (!key) {
      return undefined;
    }
    if (this.digested?.key !== key) {
      this.digested = { key, digest: digest(key) };
    }
    return this.digested.digest;
  }
}

/**
 * CCR's APIKEY semantics: when set, every route except health needs the key. Comparison is over
 * fixed-length digests so neither the length nor the content leaks through timing.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly digest = new KeyDigest();

  constructor(
    private readonly config: AppConfigService,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const expected = this.digest.of(this.config.apiKey);
    if (!expected) {
      return true;
    }
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) {
      return true;
    }
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const checked = checkApiKey(request.headers, expected);
    if (checked instanceof GatewayError) {
      throw checked;
    }
    if (checked.keys.length > 1 && !checked.matches[0]) {
      // Only the Bearer token is ours: the other key (a provider's, or any value) must not become the
      // client's identity (presentedKey: cache partition, rate-limit bucket) after this point.
      delete request.headers['x-api-key'];
    }
    return true;
  }
}
