import { Inject, Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { AppConfigService } from '../config/config.service';
import { GatewayError } from '../protocol/errors';
import { BatchIdFactory, isBatchId } from './batch-id';
import { BatchRunnerService } from './batch-runner.service';
import { parseCreateBatch } from './batch-validation';
import { toMessageBatch } from './batch-view';
import { BATCH_STORE, type BatchStore } from './batch.store';
import {
  emptyCounts,
  type BatchRecord,
  type DeletedMessageBatch,
  type MessageBatchPage,
  type MessageBatchView,
} from './batch.types';

export interface ListQuery {
  limit?: unknown;
  before_id?: unknown;
  after_id?: unknown;
}

const invalid = (message: string): GatewayError =>
  new GatewayError(400, message, { type: 'invalid_request_error' });

function parseLimit(raw: unknown): number {
  if (raw === undefined || raw === '') {
    return 20;
  }
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw invalid('limit: must be an integer from 1 to 1000');
  }
  return limit;
}

function parseCursor(name: string, raw: unknown): string | undefined {
  if (raw === undefined || raw === '') {
    return undefined;
  }
  if (typeof raw !== 'string' || !isBatchId(raw)) {
    throw invalid(`${name}: not a message batch id`);
  }
  return raw;
}

/** The Message Batches API operations (the controller only parses HTTP). */
@Injectable()
export class BatchesService {
  private readonly ids = new BatchIdFactory();

  constructor(
    @Inject(BATCH_STORE) private readonly store: BatchStore,
    private readonly runner: BatchRunnerService,
    private readonly config: AppConfigService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('batches');
  }

  async create(body: unknown, origin: string): Promise<MessageBatchView> {
    const settings = this.config.get('Batches');
    const requests = parseCreateBatch(body, settings.maxRequests);
    const now = Date.now();
    const record: BatchRecord = {
      id: this.ids.next(now),
      status: 'in_progress',
      total: requests.length,
      counts: emptyCounts(requests.length),
      createdAt: now,
      expiresAt: now + settings.expiresAfterSec * 1000,
      endedAt: null,
      cancelInitiatedAt: null,
    };
    await this.store.create(record, requests);
    try {
      await this.runner.enqueue(
        record.id,
        requests.map((_, i) => i),
      );
    } catch (err) {
      // Half a batch queued would never end on its own: the jobs already added find no batch and stop.
      await this.store.delete(record.id).catch(() => undefined);
      this.logger.warn({ err: (err as Error).message, batchId: record.id }, 'batch could not be queued');
      throw new GatewayError(503, `The batch could not be queued: ${(err as Error).message}`, {
        type: 'overloaded_error',
      });
    }
    this.logger.info({ batchId: record.id, requests: record.total }, 'batch created');
    // Jobs may have finished already (cache hits, in-process queue): answer the latest state.
    return toMessageBatch((await this.store.get(record.id)) ?? record, origin);
  }

  async retrieve(id: string, origin: string): Promise<MessageBatchView> {
    return toMessageBatch(await this.require(id), origin);
  }

  async list(query: ListQuery, origin: string): Promise<MessageBatchPage> {
    const limit = parseLimit(query.limit);
    const beforeId = parseCursor('before_id', query.before_id);
    const afterId = parseCursor('after_id', query.after_id);
    if (beforeId !== undefined && afterId !== undefined) {
      throw invalid('before_id and after_id cannot both be given');
    }
    const page = await this.store.list({ limit, beforeId, afterId });
    const data = page.batches.map((b) => toMessageBatch(b, origin));
    return {
      data,
      has_more: page.hasMore,
      first_id: data[0]?.id ?? null,
      last_id: data[data.length - 1]?.id ?? null,
    };
  }

  async cancel(id: string, origin: string): Promise<MessageBatchView> {
    await this.require(id);
    const record = await this.store.cancel(id, Date.now());
    if (!record) {
      throw notFound(id);
    }
    if (record.status === 'canceling') {
      await this.runner.cancel(record);
      this.logger.info({ batchId: id }, 'batch canceled');
    }
    return toMessageBatch((await this.store.get(id)) ?? record, origin);
  }

  /** The results file, one JSON line per request in request order; only once the batch ended. */
  async results(id: string): Promise<AsyncIterable<string>> {
    const record = await this.require(id);
    if (record.status !== 'ended') {
      throw invalid(
        `Message batch ${id} has not ended yet (processing_status: ${record.status}); results are available once it has`,
      );
    }
    const lines = this.store.results(id);
    return (async function* () {
      for await (const line of lines) {
        yield `${JSON.stringify(line)}\n`;
      }
    })();
  }

  async delete(id: string): Promise<DeletedMessageBatch> {
    const record = await this.require(id);
    if (record.status !== 'ended') {
      throw invalid(
        `Message batch ${id} is still ${record.status}: cancel it and wait until it has ended before deleting it`,
      );
    }
    await this.store.delete(id);
    this.logger.info({ batchId: id }, 'batch deleted');
    return { id, type: 'message_batch_deleted' };
  }

  private async require(id: string): Promise<BatchRecord> {
    const record = isBatchId(id) ? await this.store.get(id) : undefined;
    if (!record) {
      throw notFound(id);
    }
    return record;
  }
}

function notFound(id: string): GatewayError {
  return new GatewayError(404, `Message batch ${id.slice(0, 100)} not found`, { type: 'not_found_error' });
}
