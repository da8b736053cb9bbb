import { Body, Controller, Delete, Get, Headers, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { presentedKey } from '../auth/api-key.guard';
import { buildErrorResponse } from '../common/errors/error-response';
import { GatewayError } from '../protocol/errors';
import type { CanonicalRequest } from '../protocol/types';
import { CacheService } from './cache.service';
import type { CacheExplanation, CacheStats, PurgeResult } from './cache.types';

const target = z.string().regex(/^[^,]+,.+$/, 'must be "provider,model"');

const explainBody = z.object({
  request: z.looseObject({ messages: z.array(z.unknown()) }),
  target,
  scenario: z.string().min(1).default('default'),
});

/** `where` names the value in the message when the problem is the value itself (not a field of it). */
function parse<T>(schema: z.ZodType<T>, value: unknown, where = 'body'): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new GatewayError(400, `${issue.path.join('.') || where}: ${issue.message}`);
  }
  return parsed.data;
}

type PartialPurge = Pick<PurgeResult, 'memory' | 'redis'> & Record<string, unknown>;

/** The counts, with the admin API's error fields (`error`, `statusCode`, `requestId`) beside them. */
function partialPurge(
  result: PurgeResult,
  redisError: string,
  request: FastifyRequest,
  reply: FastifyReply,
): PartialPurge {
  const failure = buildErrorResponse(
    new GatewayError(
      503,
      `the Redis tier was not purged (${redisError}); the memory tier was. Retry once Redis is back`,
      { type: 'api_error' },
    ),
    request.url,
    request.id,
  );
  void reply.code(failure.status).headers(failure.headers);
  return { memory: result.memory, redis: null, ...(failure.body as Record<string, unknown>) };
}

/** Cache administration; protected by the global API key guard like every non-health route. */
@Controller('api/cache')
export class CacheController {
  constructor(private readonly cache: CacheService) {}

  @Get('stats')
  async stats(): Promise<CacheStats> {
    await this.cache.refreshRedisEntries();
    return this.cache.stats();
  }

  /**
   * Purges everything, or one target with `?target=provider,model`. A Redis tier left unpurged answers 503
   * (the entries would be served again as hits): what the memory tier lost, `redis: null` and the error.
   */
  @Delete()
  async purge(
    @Query('target') only: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PurgeResult | PartialPurge> {
    const result = await this.cache.purge(
      only === undefined ? undefined : parse(target, only, 'target (query parameter)'),
    );
    return result.redisError === undefined ? result : partialPurge(result, result.redisError, request, reply);
  }

  /** The fields that went into the key (each hashed) and the key, for `{request, target, scenario?}`. */
  @Post('explain')
  @HttpCode(200)
  explain(@Body() body: unknown, @Headers() headers: Record<string, string | undefined>): CacheExplanation {
    const { request, target: to, scenario } = parse(explainBody, body);
    return this.cache.explain(
      request as unknown as CanonicalRequest,
      { target: to, scenario },
      presentedKey(headers),
    );
  }
}
