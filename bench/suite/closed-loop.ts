/**
 * The scale scenario's load helpers: a closed loop of unique requests (peak throughput) and the per-body count of
 * upstream calls from the fake provider's request log.
 */
import { Agent } from 'undici';
import { getJson } from '../lib/gateway';
import { sendOne, type Sample, type ScheduledRequest } from '../lib/open-loop';

export const JSON_HEADERS = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };

export const smallBody = (text: string, stream: boolean): string =>
  JSON.stringify({
    model: 'claude-sonnet-4-5',
    max_tokens: 256,
    stream,
    system: 'You are a concise assistant.',
    messages: [{ role: 'user', content: text }],
  });

/** `c` workers sending unique requests back to back until `seconds` have passed (peak throughput). */
export async function closedLoop(
  origin: string,
  c: number,
  seconds: number,
  tag: string,
): Promise<{ samples: Sample[]; t0: number }> {
  const agent = new Agent({ connections: c, pipelining: 1, keepAliveTimeout: 30_000 });
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const samples: Sample[] = [];
  let i = 0;
  try {
    await Promise.all(
      Array.from({ length: c }, async () => {
        while (performance.now() < end) {
          const n = i++;
          const stream = n % 2 === 0;
          const r: ScheduledRequest = {
            atMs: performance.now() - t0,
            path: '/v1/messages',
            body: smallBody(`${tag} request ${n}: say hello.`, stream),
            headers: JSON_HEADERS,
            stream,
            tag,
            id: `${tag}:${n}`,
          };
          samples.push(await sendOne(agent, { origin, timeoutMs: 30_000 }, r, t0));
        }
      }),
    );
  } finally {
    await agent.close();
  }
  return { samples, t0 };
}

interface Recorded {
  body?: { messages?: { content?: unknown }[] };
}

/** Upstream calls per marker, from the fake's request log (bodies kept). */
export async function callsPerMarker(fakeOrigin: string, marker: string): Promise<Map<string, number>> {
  const reqs = await getJson<Recorded[]>(`${fakeOrigin}/__fake/requests?limit=1000000`, 30_000);
  const out = new Map<string, number>();
  const re = new RegExp(`${marker}-\\d+`);
  for (const r of reqs) {
    const m = re.exec(JSON.stringify(r.body?.messages ?? ''));
    if (m) {
      out.set(m[0], (out.get(m[0]) ?? 0) + 1);
    }
  }
  return out;
}
