/** Span names of the request path (docs/observability.md#tracing). Bounded: never a request id or a user. */
export const SPAN = {
  route: 'switchyard.route',
  cacheLookup: 'switchyard.cache.lookup',
  dedup: 'switchyard.dedup',
  queueWait: 'switchyard.queue.wait',
  egress: 'switchyard.egress',
  batchRequest: 'switchyard.batch.request',
} as const;

/** GenAI semantic-convention attribute names (OpenTelemetry semconv, gen_ai.*). */
export const GEN_AI = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  finishReasons: 'gen_ai.response.finish_reasons',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheReadTokens: 'gen_ai.usage.cache_read.input_tokens',
  cacheCreationTokens: 'gen_ai.usage.cache_creation.input_tokens',
  maxTokens: 'gen_ai.request.max_tokens',
} as const;

export const ERROR_TYPE = 'error.type';
