/**
 * Event-loop blocking of the token estimator: `countRequestTokens` (src/protocol/tokens.ts) is synchronous
 * and runs on every request, so its duration is the time the gateway's event loop is blocked. Imported
 * from the sources through tsx, in the harness process, before any child process runs.
 */
import { performance } from 'node:perf_hooks';
import { withExtraTurn, type BenchBody } from './bodies';
import type { TokenCell } from './report';

type Tokens = typeof import('../../src/protocol/tokens');

function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function measureTokens(bodies: BenchBody[], iterations = 7): Promise<TokenCell[]> {
  const tokens: Tokens = await import('../../src/protocol/tokens');
  const count = (req: unknown) => tokens.countRequestTokens(req as Parameters<Tokens['countRequestTokens']>[0]);
  const parsed = bodies.map((b) => JSON.parse(b.nonstream) as Record<string, unknown>);

  // One-shot: the very first count of the process, before warmTokenizer() (builds the BPE ranks, cold JIT).
  const unwarmedFirstMs = parsed.length > 0 ? timed(() => count(parsed[parsed.length - 1])) : undefined;
  tokens.warmTokenizer();

  return bodies.map((body, i) => {
    const req = parsed[i];
    const next = withExtraTurn(body.nonstream);
    const cold: number[] = [];
    for (let k = 0; k < iterations; k++) {
      tokens.resetTokenCounter();
      cold.push(timed(() => count(req)));
    }
    const warm: number[] = [];
    for (let k = 0; k < iterations * 3; k++) {
      warm.push(timed(() => count(req)));
    }
    const nextTurn: number[] = [];
    for (let k = 0; k < iterations; k++) {
      tokens.resetTokenCounter();
      count(req);
      nextTurn.push(timed(() => count(next)));
    }
    tokens.resetTokenCounter();
    return {
      body: body.name,
      bytes: body.bytes,
      unwarmedFirstMs: i === parsed.length - 1 ? unwarmedFirstMs : undefined,
      coldFirstMs: cold[0],
      coldMedianMs: median(cold),
      warmMedianMs: median(warm),
      nextTurnMedianMs: median(nextTurn),
    };
  });
}
