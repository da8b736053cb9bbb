/** The fake LLM provider used by e2e tests, demos (`npm run fake-provider`) and benchmarks. */
export { startFakeProvider, FAKE_MODELS } from './server';
export { BUILTIN_BEHAVIOUR, DEFAULT_TEXT } from './types';
export type {
  FakeBehaviour,
  FakeFinish,
  FakeProvider,
  FakeProviderOptions,
  FakeQuirk,
  Fault,
  RecordedApi,
  RecordedRequest,
} from './types';
