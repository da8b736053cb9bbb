export * from './provider.types';
export { UpstreamClient, providerTransport } from './upstream.client';
export type {
  UpstreamClientOptions,
  OriginOverrides,
  OriginStats,
  UpstreamRequest,
  UpstreamResponse,
  UpstreamTimeouts,
} from './upstream.client';
export { classifyTransportError, parseRetryAfter, providerErrorFromResponse } from './upstream-errors';
export { ProviderRegistry } from './provider.registry';
export type { ProviderRegistryDeps } from './provider.registry';
export {
  AnthropicAdapter,
  anthropicMessagesUrl,
  anthropicCountTokensUrl,
} from './anthropic/anthropic.adapter';
export { OpenAIAdapter, openAIChatUrl, defaultOpenAIOptions } from './openai/openai.adapter';
export { GeminiAdapter, geminiUrl } from './gemini/gemini.adapter';
export { anthropicToGeminiRequest, GeminiStreamToAnthropic, cleanGeminiSchema } from './gemini/gemini.codec';
export { TransformerRegistry } from './transformers/transformer.registry';
export { loadCustomTransformers } from './transformers/custom-transformers';
export type { CustomTransformerEntry, LoadedTransformers } from './transformers/custom-transformers';
export type {
  Transformer,
  TransformerFactory,
  TransformContext,
  ResponseTransform,
  OpenAIRequestOptions,
  JsonObject,
} from './transformers/transformer.types';
export type { AdapterDeps } from './adapter-support';
export { collectEvents } from './event-stream';
