import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { requestOrigin } from './batch-view';
import type { DeletedMessageBatch, MessageBatchPage, MessageBatchView } from './batch.types';
import { BatchesEnabledGuard } from './batches-enabled.guard';
import { BatchesService, type ListQuery } from './batches.service';

const origin = (request: FastifyRequest): string =>
  requestOrigin(request.headers, request.protocol === 'https', 'localhost');

/** Anthropic Message Batches API (`/v1/messages/batches`), run by this gateway on the batch queue. */
@Controller('v1/messages/batches')
@UseGuards(BatchesEnabledGuard)
export class BatchesController {
  constructor(private readonly batches: BatchesService) {}

  @Post()
  @HttpCode(200)
  create(@Body() body: unknown, @Req() request: FastifyRequest): Promise<MessageBatchView> {
    return this.batches.create(body, origin(request));
  }

  @Get()
  list(@Query() query: ListQuery, @Req() request: FastifyRequest): Promise<MessageBatchPage> {
    return this.batches.list(query, origin(request));
  }

  @Get(':id')
  retrieve(@Param('id') id: string, @Req() request: FastifyRequest): Promise<MessageBatchView> {
    return this.batches.retrieve(id, origin(request));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  cancel(@Param('id') id: string, @Req() request: FastifyRequest): Promise<MessageBatchView> {
    return this.batches.cancel(id, origin(request));
  }

  @Get(':id/results')
  async results(@Param('id') id: string, @Res() reply: FastifyReply): Promise<void> {
    const lines = await this.batches.results(id);
    await reply.code(200).header('content-type', 'application/x-jsonl').send(Readable.from(lines));
  }

  @Delete(':id')
  delete(@Param('id') id: string): Promise<DeletedMessageBatch> {
    return this.batches.delete(id);
  }
}
