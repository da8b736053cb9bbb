/** The benchmark's usage text, its method description (for the generated doc), and the saved-result loaders. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProfileSummary } from '../profile-summary';
import type { RunResult } from './report';

const usage = `npm run bench:overhead -- [options]      (builds first; or: npx tsx bench/overhead.ts)

  --duration S          seconds per measured cell (default 5)
  --warmup S            warm-up seconds before each measured cell, per target (default 2; 1 with --quick)
  --quick               2 s cells, 1 s warm-up, 100 TTFB requests
  --only LIST           bodies: small,cc,big (default all)
  --mode LIST           nonstream,stream (default both)
  --concurrency LIST    default 1,64,256
  --ttfb-requests N     sequential streaming requests per target for TTFB (default 200; 0 = skip)
  --log-level L         gateway LOG_LEVEL (default warn)
  --no-log-variant      skip the LOG_LEVEL=info re-run of the c=64 non-stream cells
  --cpu-prof            run the gateway under node --cpu-prof (bench/results/profiles) and summarise the
                        measured window of the 75 KB non-stream c=64 cell (or of the last cell run)
  --quiet-wait S        wait up to S s (default 10; 60 s per run) for other processes to go quiet
                        before each measurement; 0 = never wait
  --skip-tokens         skip the token-estimator timings
  --keep-tmp            keep the temp dir (config, HOME, child logs)`;

const text = `- **Processes.** The fake provider (\`scripts/fake-provider.ts\`, under \`node --import tsx\`) runs in its own
  process: zero first-byte latency, 4 text deltas, no gaps between them, request bodies not kept, request log
  capped at 16 entries. The gateway runs from the compiled build (\`node dist/main.js\`) with
  \`NODE_ENV=production\`, \`LOG_LEVEL=warn\` (the access log is an info line: see the \`LOG_LEVEL=info\` variant),
  \`HOME\` and \`SWITCHYARD_CONFIG\` pointing at a temp dir whose config has one OpenAI-kind provider
  (\`api_base_url: http://127.0.0.1:<fake>/v1/chat/completions\`) and every Router slot on it; no Redis.
  The load generator (autocannon 9, programmatic, pipelining 1) runs in the harness process. All three share
  the machine's cores, so req/s are a property of the whole box; **gateway CPU µs per request** is the number
  that depends least on what else runs. A bare \`node:http\` server (parse the body, answer 11 bytes) is
  measured the same way first, as the per-request floor of this machine.
- **Direct vs gateway.** "Direct" sends the same Anthropic Messages body to the fake's own \`/v1/messages\`
  (Anthropic format, no conversion). "Gateway" sends it to Switchyard's \`/v1/messages\`, which converts it to
  Chat Completions, calls the fake's \`/v1/chat/completions\`, and converts the answer (JSON or SSE) back.
  Added latency = gateway percentile − direct percentile, same cell.
- **Bodies.** 1 KB: system prompt + one user turn. 75 KB: the real Claude Code request
  (\`test/fixtures/claude-code/say-hi.json\` \`.body\`, 24 tools, with Claude Code's headers and
  \`?beta=true\`). 400 KB: that request with ~330 KB of history (assistant text + \`Read\` tool calls answered
  by \`tool_result\` file contents of prose and code) in front of its messages. \`model\` is the target's
  model name, \`stream\` per mode.
- **Cells.** Per body × mode × concurrency (1, 64, 256): warm-up (2 s) then a measured run (5 s) against the
  fake, then the same against the gateway. Before each measured run the harness waits until the gateway and
  the fake are idle, and (up to 10 s) until other processes on the machine are quiet; the CPU that other
  processes used during each run is reported ("other load", in cores): cells with more than ~0.2 are noisy.
  Latency percentiles are computed from every 2xx response's time (ms, sub-ms precision).
  Errors, timeouts and non-2xx responses are counted (must be 0). A probe request per body and mode checks
  the answer is a real message / a complete SSE stream ending with \`message_stop\`.
- **CPU.** \`utime + stime\` of the gateway process from \`/proc/<pid>/stat\` before and after the measured run,
  divided by the responses completed. Requests still in flight when autocannon stops count their CPU but
  not themselves: at c=256 with large bodies this overstates CPU/request slightly.
- **Memory.** \`VmRSS\` after the cell and \`VmHWM\` (peak RSS since the gateway started) from
  \`/proc/<pid>/status\`.
- **TTFB.** Streaming requests at concurrency 1 with a hand-written undici client (one keep-alive
  connection per target), direct and gateway interleaved, 20 warm-up + 200 measured each; time from sending
  the request to the first body chunk. Added TTFB = gateway − direct, p50 and p99.
- **Token estimator.** \`countRequestTokens\` imported from \`src/protocol/tokens.ts\` in the harness (before
  any child runs): the first call of an unwarmed process, then after \`warmTokenizer()\` (as the gateway does
  at boot) with an empty memo (cold, a body never seen), the same body again (warm), and the body plus one more
  turn after the body was counted (the next request of a conversation).`;

/** The hot-spot summary of the last --cpu-prof run, if any. */
function lastProfile(resultsDir: string): ProfileSummary | undefined {
  const file = join(resultsDir, 'profile-latest.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ProfileSummary) : undefined;
}

function latest(resultsDir: string): RunResult {
  return JSON.parse(readFileSync(join(resultsDir, 'overhead-latest.json'), 'utf8')) as RunResult;
}

export const METHOD = { usage, text, lastProfile, latest };
