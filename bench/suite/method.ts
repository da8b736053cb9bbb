/** The README's method and how-to-reproduce sections (static text; the numbers come from the results). */

export const METHOD = `## Method

- **Open loop.** Load is sent at a fixed arrival rate (\`bench/lib/open-loop.ts\`, one undici Agent with up to
  1,024 connections, so the client never queues): every request leaves at its scheduled time whether or not the
  earlier ones have answered. A closed-loop tool (autocannon, wrk) waits for an answer before sending the next
  request, so a slow server also slows the load down and the stall disappears from the numbers — *coordinated
  omission*. Here latency is measured from each request's **scheduled** send time, so a late harness or a stalled
  gateway both show up in full. "Latency" is the time to the end of the answer (the last SSE event of a stream),
  "first byte" the time to its first body byte. Only the \`concurrent\` scenario sends everything at once (a burst of
  N requests held open together), and \`scale\` also measures peak throughput with a closed loop (that is what it is for).
- **Answers are checked.** A request counts as complete only when it is HTTP 200 and a real message (non-stream) or an
  SSE stream that ends with \`message_stop\` and carries no \`error\` event. 429 and 503 answers are counted apart as
  *shed* (with or without \`retry-after\`); anything else (another status, a cut stream, a socket error, the client's
  timeout) is an error.
- **Processes** (each started by the harness, each stopped at the end, on errors and on Ctrl-C; the scenario reports
  whether anything was left running):
  - *fake provider*: \`scripts/fake-provider.ts\` in its own Node process, OpenAI and Anthropic formats, with the
    latency profile each scenario needs (first byte, number of deltas, gap), runtime faults through
    \`/__fake/configure\` (status, hang) and a request counter (\`/__fake/stats\`);
  - *redis-server*: a throwaway one per scenario on a free port, no persistence;
  - *gateway*: the compiled build, \`node dist/main.js\` (run from a copy of \`dist/\` taken when the run starts, so a
    rebuild of the working tree during a long run cannot change the code under test), \`NODE_ENV=production\`,
    \`LOG_LEVEL=warn\`, HOME and
    \`SWITCHYARD_CONFIG\` in a temp dir, \`REDIS_URL\` set (Redis-backed in every scenario), health probes and idle pool
    pings off (they would hit the fake during measurements), with a monitor preload
    (\`bench/lib/suite-monitor-preload.cjs\`, via \`NODE_OPTIONS=--require\`) that reports event-loop lag, heap use,
    forced-GC heap and writes heap snapshots on request over a Unix socket — no product code involved;
  - *nginx* (\`scale\` only): a temp prefix and config, run as the current user in the foreground, \`upstream\` = the
    gateway instances with keepalive;
  - *Claude Code Router* (\`--compare ccr\` only): \`ccr start\` with a temp HOME whose config points at the same fake;
  - *harness*: bench/run.ts (the load generator runs in this process).
- **Resources.** Every second (sustained: every 5 s) the harness reads each gateway's RSS (\`/proc/<pid>/status\`),
  open file descriptors (\`/proc/<pid>/fd\`), CPU (\`/proc/<pid>/stat\`) and, through the preload, heap used and the
  event-loop lag of the interval (\`perf_hooks.monitorEventLoopDelay\`, 10 ms resolution subtracted). Heap after GC
  (sustained) is \`process.memoryUsage().heapUsed\` right after two full GCs forced by the preload (\`gc()\` exposed at
  run time with \`v8.setFlagsFromString('--expose-gc')\`), so growth that survives collection is separated from garbage
  not yet collected. Heap snapshots are written by \`v8.writeHeapSnapshot\` in the gateway (the preload), parsed by the
  harness (the \`.heapsnapshot\` JSON: \`nodes\` / \`strings\`) and compared by constructor name.
- **A shared machine.** Before each measured phase the harness waits (bounded) for other processes to go quiet and
  then measures the CPU they used during the phase ("other load", in cores); a phase with more than ~0.2 cores of
  other load is noisy and the report says so.
- **Charts** are rendered by Apache ECharts (server-side SVG) and resvg (PNG), from the same samples as the tables:
  latency percentiles per second of scheduled send time, answers per second by completion time, and RSS / heap (and
  event-loop lag where it matters) of each gateway process over the scenario's clock. Dashed vertical lines mark
  events (failure onset, spike start and end, Redis killed and restarted, phase changes).`;

export const REPRODUCE = `## How to reproduce

\`\`\`bash
npm run bench -- --scenario all --duration short        # build, then every scenario (short: ~30 min on 2 cores)
npm run bench -- --scenario all --duration long         # ~1.5 h (sustained alone runs 1 h)
npm run bench -- --scenario spike,failover              # a list of scenarios (default duration: short)
npm run bench -- --quick                                # = --scenario all --duration smoke: ~5 min in all (CI-safe smoke)
npm run bench -- --scenario overhead,concurrent --compare ccr   # also against Claude Code Router
npx tsx bench/run.ts --help                             # every option (skips the build)
\`\`\`

| option | default | |
|---|---|---|
| \`--scenario LIST\` | \`all\` | overhead, concurrent, replay, failover, spike, sustained, redis-outage, scale (comma-separated) or \`all\` |
| \`--duration MODE\` | \`short\` | \`smoke\` (seconds per phase), \`short\` (minutes; sustained 10 min), \`long\` (sustained 1 h) |
| \`--quick\` | | \`--duration smoke\` |
| \`--compare ccr\` | | also run \`overhead\` and \`concurrent\` against Claude Code Router (\`npm run bench:ccr-install\` first) |
| \`--quiet-wait S\` | 10 (smoke: 0) | wait up to S s for other processes to go quiet before each measured phase |
| \`--keep-tmp\` | | keep each scenario's temp dir (configs, logs, heap snapshots) |

Each scenario writes \`bench/results/suite/<scenario>-<timestamp>.json\` and \`<scenario>-latest.json\`, its report
\`docs/benchmarks/suite/<scenario>.md\`, its charts \`docs/benchmarks/images/<scenario>-*.png\`, and regenerates this
README. The \`scale\` scenario needs nginx: it runs \`apt-get install -y nginx\` when \`nginx\` is not found and the
harness runs as root, and otherwise stops with the command to run. Claude Code Router is not a dependency of the
project (its 1.x package pulls ~120 MB and warns on Node 20): \`npm run bench:ccr-install\` puts it in \`bench/.ccr/\`
(git-ignored), or point \`SWITCHYARD_BENCH_CCR\` at its \`dist/cli.js\`.`;
