/**
 * `npm run fake-provider -- [options]`: runs the fake LLM provider for demos and benchmarks.
 * Behaviour can also be changed at runtime: POST /__fake/configure with a JSON Partial<FakeBehaviour>.
 */
import { parseArgs } from 'node:util';
import { startFakeProvider, type FakeBehaviour, type FakeQuirk, type Fault } from '../test/fake-provider';

const USAGE = `fake provider — OpenAI / Anthropic / Gemini compatible test upstream

  --port N              listen port (default 4010; 0 = ephemeral)
  --host H              listen address (default 127.0.0.1)
  --first-byte-ms N     delay before headers / first byte
  --profile MED,P95     log-normal first-byte latency (ms), e.g. 300,900
  --chunks N            deltas per answer
  --gap-ms N            delay between deltas
  --text S              answer text
  --text-bytes N        answer = N bytes of filler
  --reasoning S         reasoning / thinking text before the answer
  --quirk Q             groq | glm | deepseek | openrouter | usage-every-chunk (OpenAI endpoint)
  --fault F             status:429[:retryAfter] | refuse | reset | hang | stall-after-first-byte | cut |
                        malformed | missing-done | stream-error, or a Fault JSON object
  --usage IN,OUT[,CACHE] token usage reported
  --behaviour JSON      any Partial<FakeBehaviour> (applied last)
  --max-recorded N      request log size (default 1000 here)
  --no-bodies           do not keep request bodies in the log
  -h, --help`;

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) {
    return undefined;
  }
  const n = Number(v);
  if (!Number.isFinite(n)) {
    throw new Error(`--${name} expects a number, got "${v}"`);
  }
  return n;
}

function parseFault(v: string): Fault {
  if (v.trim().startsWith('{')) {
    return JSON.parse(v) as Fault;
  }
  const [type, status, retryAfter] = v.split(':');
  if (type === 'status') {
    return { type, status: Number(status ?? 500), ...(retryAfter ? { retryAfter: Number(retryAfter) } : {}) };
  }
  return { type } as Fault;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'first-byte-ms': { type: 'string' },
      profile: { type: 'string' },
      chunks: { type: 'string' },
      'gap-ms': { type: 'string' },
      text: { type: 'string' },
      'text-bytes': { type: 'string' },
      reasoning: { type: 'string' },
      quirk: { type: 'string' },
      fault: { type: 'string' },
      usage: { type: 'string' },
      behaviour: { type: 'string' },
      'max-recorded': { type: 'string' },
      'no-bodies': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const defaults: Partial<FakeBehaviour> = {
    firstByteDelayMs: num('first-byte-ms', values['first-byte-ms']),
    chunkCount: num('chunks', values.chunks),
    chunkGapMs: num('gap-ms', values['gap-ms']),
    text: values.text,
    textBytes: num('text-bytes', values['text-bytes']),
    reasoning: values.reasoning,
    quirk: values.quirk as FakeQuirk | undefined,
    fault: values.fault ? parseFault(values.fault) : undefined,
  };
  if (values.profile) {
    const [medianMs, p95Ms] = values.profile.split(',').map((s) => num('profile', s) ?? 0);
    defaults.firstByteProfile = { medianMs, p95Ms: p95Ms ?? medianMs };
  }
  if (values.usage) {
    const [input, output, cacheRead] = values.usage.split(',').map((s) => num('usage', s) ?? 0);
    defaults.usage = { input, output: output ?? 0, cacheRead: cacheRead ?? 0 };
  }
  if (values.behaviour) {
    Object.assign(defaults, JSON.parse(values.behaviour) as Partial<FakeBehaviour>);
  }

  const fake = await startFakeProvider({
    port: num('port', values.port) ?? 4010,
    host: values.host ?? '127.0.0.1',
    defaults,
    maxRecorded: num('max-recorded', values['max-recorded']) ?? 1000,
    recordBodies: !values['no-bodies'],
  });
  console.log(`fake provider listening on ${fake.url}`);
  console.log(`  behaviour: ${JSON.stringify(fake.behaviour())}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.exit(1); // second signal: do not wait
    }
    stopping = true;
    console.log(
      `fake provider: ${signal}, ${fake.count()} requests served, max in flight ${fake.maxInFlight()}`,
    );
    fake.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  console.error(`fake provider: ${(e as Error).message}`);
  process.exit(1);
});
