import { randomUUID } from 'node:crypto';
import type { FakeProvider } from '../fake-provider';
import { DEFAULT_ROUTER, fakeProviders } from '../support/gateway';
import { startTestApp, type TestApp } from '../support/test-app';

/** A fake-provider directive placed in the prompt (applies to whichever provider receives it). */
export const directive = (behaviour: Record<string, unknown>): string =>
  `[[fake:${JSON.stringify(behaviour)}]]`;

/** A prompt no other request has sent (no cache hit, no coalescing with another test's request). */
export const unique = (what: string, behaviour?: Record<string, unknown>): string =>
  `${what} ${randomUUID()}${behaviour ? ` ${directive(behaviour)}` : ''}`;

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
}

export async function post(
  gw: { url: string },
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

export const messages = (content: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  model: 'claude-sonnet-4',
  max_tokens: 64,
  messages: [{ role: 'user', content }],
  ...extra,
});

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One scrape, parsed: samples plus the metric families announced by `# TYPE`. */
export interface Scrape {
  text: string;
  samples: Sample[];
  types: Map<string, string>;
  /** Sum of the samples of `name` whose labels include `match`. */
  sum(name: string, match?: Record<string, string>): number;
  /** Whether any sample of `name` (with `match`) exists. */
  has(name: string, match?: Record<string, string>): boolean;
}

function parseLabels(s: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    labels[m[1]] = m[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  }
  return labels;
}

export function parseExposition(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name, type);
      continue;
    }
    if (line === '' || line.startsWith('#')) {
      continue;
    }
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    const name = brace >= 0 && brace < space ? line.slice(0, brace) : line.slice(0, space);
    const labels =
      brace >= 0 && brace < space ? parseLabels(line.slice(brace + 1, line.lastIndexOf('}'))) : {};
    samples.push({ name, labels, value: Number(line.slice(space + 1)) });
  }
  const matching = (name: string, match: Record<string, string> = {}): Sample[] =>
    samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
  return {
    text,
    samples,
    types,
    sum: (name, match) => matching(name, match).reduce((n, s) => n + s.value, 0),
    has: (name, match) => matching(name, match).length > 0,
  };
}

export async function scrape(gw: { url: string }): Promise<Scrape> {
  // Uncompressed, so that scraping does not itself move the compression counters under test.
  const res = await fetch(`${gw.url}/metrics`, { headers: { 'accept-encoding': 'identity' } });
  if (res.status !== 200) {
    throw new Error(`/metrics answered ${res.status}`);
  }
  return parseExposition(await res.text());
}

/** Fake providers of the metrics specs: the shared test kinds plus extra models for failure scenarios. */
export function metricsProviders(
  fakeUrl: string,
  extra: Record<string, unknown>[] = [],
): Record<string, unknown>[] {
  const [openai, ...rest] = fakeProviders(fakeUrl);
  return [{ ...openai, models: ['gpt-fake', 'haiku-fake', 'long-fake', 'stall-fake'] }, ...rest, ...extra];
}

/** A gateway on an existing fake provider (several gateways may share one), with extra providers and config. */
export async function startOn(
  fake: FakeProvider,
  opts: {
    providers?: Record<string, unknown>[];
    router?: Record<string, unknown>;
    config?: Record<string, unknown>;
    env?: Record<string, string>;
  } = {},
): Promise<TestApp> {
  return startTestApp({
    env: opts.env,
    userConfig: {
      Providers: metricsProviders(fake.url, opts.providers),
      Router: { ...DEFAULT_ROUTER, ...(opts.router ?? {}) },
      Server: { pingIntervalMs: 10_000 },
      ...(opts.config ?? {}),
    },
  });
}
