import { CliError, EXIT, integerOption, parseCommandArgs, type CliContext } from './cli-context';
import { gatewayAddress, loadCliConfig } from './gateway-address';
import { renderStatus } from './status-render';
import { STATUS_USAGE } from './cli-usage';

export type Section = 'ready' | 'providers' | 'cache' | 'queue';

/** One endpoint's answer: its JSON body, or why there is none. */
export interface SectionResult {
  ok: boolean;
  status?: number;
  body?: unknown;
  error?: string;
}

export interface StatusReport {
  url: string;
  reachable: boolean;
  ready: boolean;
  pid?: number;
  uptimeSeconds?: number;
  error?: string;
  sections: Partial<Record<Section, SectionResult>>;
}

const PATHS: Record<Section, string> = {
  ready: '/health/ready',
  providers: '/api/providers',
  cache: '/api/cache/stats',
  queue: '/api/queue',
};

async function fetchJson(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<SectionResult> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  const body: unknown = await res.json().catch(() => undefined);
  if (res.ok) {
    return { ok: true, status: res.status, body };
  }
  const message = (body as { error?: { message?: string; code?: string } } | undefined)?.error?.message;
  return { ok: false, status: res.status, body, error: `HTTP ${res.status}${message ? `: ${message}` : ''}` };
}

function describeNetworkError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') {
    return 'no answer in time';
  }
  return e.cause?.code ?? e.cause?.message ?? e.message;
}

export async function collectStatus(
  url: string,
  apiKey: string | undefined,
  timeoutMs: number,
): Promise<StatusReport> {
  const report: StatusReport = { url, reachable: false, ready: false, sections: {} };
  try {
    const live = await fetchJson(`${url}/health/live`, {}, timeoutMs);
    const proc = (live.body as { info?: { process?: { pid?: number; uptimeSeconds?: number } } } | undefined)
      ?.info?.process;
    if (!live.ok || !proc) {
      report.error = `${url} answers, but not as a Switchyard gateway (GET /health/live: HTTP ${live.status})`;
      return report;
    }
    report.reachable = true;
    report.pid = proc.pid;
    report.uptimeSeconds = proc.uptimeSeconds;
  } catch (err) {
    report.error = `no gateway answers at ${url} (${describeNetworkError(err)})`;
    return report;
  }
  const headers: Record<string, string> = apiKey ? { 'x-api-key': apiKey } : {};
  const sections = Object.keys(PATHS) as Section[];
  const results = await Promise.all(
    sections.map((s) =>
      fetchJson(`${url}${PATHS[s]}`, s === 'ready' ? {} : headers, timeoutMs).catch(
        (err: unknown): SectionResult => ({ ok: false, error: describeNetworkError(err) }),
      ),
    ),
  );
  sections.forEach((s, i) => (report.sections[s] = results[i]));
  // Readiness answers 503 with the same body when a check is down.
  report.ready = results[0].ok && (results[0].body as { status?: string } | undefined)?.status === 'ok';
  return report;
}

/** A worker node serves only /health and /metrics: its missing /api sections are expected, not failures. */
const isWorkerOnly = (r: SectionResult | undefined): boolean =>
  r?.status === 404 && JSON.stringify(r.body ?? '').includes('worker');

export function statusExitCode(report: StatusReport): number {
  if (!report.reachable) {
    return EXIT.failure;
  }
  const sectionsOk = (['providers', 'cache', 'queue'] as const).every(
    (s) => report.sections[s]?.ok || isWorkerOnly(report.sections[s]),
  );
  return report.ready && sectionsOk ? EXIT.ok : EXIT.notReady;
}

export async function runStatus(args: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs(args, {
    json: { type: 'boolean' },
    url: { type: 'string' },
    'api-key': { type: 'string' },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    ctx.io.stdout(STATUS_USAGE);
    return EXIT.ok;
  }
  const timeoutMs = integerOption('timeout', values.timeout, 1) ?? 5000;
  let url = values.url?.replace(/\/+$/, '');
  let apiKey = values['api-key'];
  if (url === undefined || apiKey === undefined) {
    try {
      const address = gatewayAddress(loadCliConfig(ctx.env).config);
      url ??= address.url;
      apiKey ??= address.apiKey;
    } catch (err) {
      // With --url the configuration is only a source for the key: a broken one must not hide the gateway.
      if (url === undefined || !(err instanceof CliError)) {
        throw err;
      }
    }
  }
  const report = await collectStatus(url, apiKey, timeoutMs);
  if (values.json) {
    ctx.io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  } else if (!report.reachable) {
    ctx.io.stderr(`switchyard status: ${report.error}\n`);
  } else {
    ctx.io.stdout(renderStatus(report));
  }
  return statusExitCode(report);
}
