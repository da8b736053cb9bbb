import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { randomBytes } from 'node:crypto';
import { Public } from '../auth/public.decorator';
import { dashboardHtml } from './dashboard-page';

/**
 * `GET /dashboard`, the status page. The HTML itself is public — it holds no data and must be able to show
 * its API-key form; everything it shows comes from `/api/*`, which stay behind the key.
 */
@Public()
@Controller('dashboard')
export class DashboardController {
  @Get()
  page(@Res() reply: FastifyReply): Promise<void> | FastifyReply {
    const nonce = randomBytes(16).toString('base64');
    return reply
      .type('text/html; charset=utf-8')
      .header(
        'content-security-policy',
        `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; ` +
          "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
      )
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(dashboardHtml(nonce));
  }
}
