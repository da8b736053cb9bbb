import { DASHBOARD_SCRIPT } from './dashboard-client';

const STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --muted: #6e7781; --line: #d0d7de55; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display: flex; gap: 12px; align-items: center; padding: 12px 20px; border-bottom: 1px solid var(--line); }
header h1 { font-size: 18px; margin: 0; flex: 1; }
main { padding: 16px 20px; display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); }
section { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 15px; margin: 0 0 8px; display: flex; gap: 8px; align-items: baseline; }
h2 small { font-weight: normal; color: var(--muted); }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
.big { font-size: 28px; font-weight: 600; }
.kv { display: grid; grid-template-columns: auto 1fr; gap: 2px 12px; margin-top: 6px; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; }
.ok { color: var(--ok); }
.bad { color: var(--bad); }
.muted { color: var(--muted); }
.small { font-size: 12px; }
.pill { border-radius: 10px; padding: 1px 8px; border: 1px solid currentColor; font-size: 12px; }
.note { color: var(--muted); font-style: italic; }
form#login { max-width: 360px; margin: 60px auto; display: grid; gap: 8px; }
form#login input { font: inherit; padding: 6px 8px; }
button, input[type=submit] { font: inherit; cursor: pointer; }
`;

/**
 * `GET /dashboard`: one self-contained page (inline CSS and script, no external request but the gateway's
 * own `/api/*`). Its script and style run under a per-response CSP nonce; nothing else may run.
 */
export function dashboardHtml(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Switchyard status</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body data-refreshes="0">
<header>
  <h1>Switchyard status</h1>
  <span id="ready" class="pill muted">…</span>
  <span id="updated" class="muted small">loading…</span>
  <button id="refresh-now" type="button" class="small">refresh</button>
  <button id="logout" type="button" class="small">sign out</button>
</header>
<form id="login" hidden>
  <h2>API key</h2>
  <p id="login-message" class="muted"></p>
  <input id="key" name="key" type="password" autocomplete="current-password" placeholder="APIKEY" required>
  <input type="submit" value="Open the status page">
  <p class="muted small">Kept in this tab's sessionStorage and sent as <code>x-api-key</code> to the gateway's /api routes.</p>
</form>
<main id="content">
  <section class="wide" id="providers">
    <h2>Providers <small>score, circuit and time to first byte per target</small></h2>
    <p id="providers-note" class="note" hidden></p>
    <table>
      <thead><tr><th>target</th><th>score</th><th>circuit</th><th>TTFB p50</th><th>TTFB p95</th><th>success</th><th>samples</th><th>last error</th></tr></thead>
      <tbody id="providers-body"></tbody>
    </table>
  </section>
  <section id="cache">
    <h2>Cache <small>hit rate since start</small></h2>
    <p id="cache-note" class="note" hidden></p>
    <div id="cache-hit-rate" class="big">—</div>
    <dl class="kv">
      <dt>hits</dt><dd id="cache-hits">—</dd>
      <dt>misses</dt><dd id="cache-misses">—</dd>
      <dt>stores</dt><dd id="cache-stores">—</dd>
      <dt>memory entries</dt><dd id="cache-entries">—</dd>
    </dl>
  </section>
  <section id="dedup">
    <h2>Dedup <small>upstream calls saved by coalescing</small></h2>
    <p id="dedup-note" class="note" hidden></p>
    <div id="dedup-savings" class="big">—</div>
    <dl class="kv">
      <dt>saved (followers)</dt><dd id="dedup-followers">—</dd>
      <dt>leaders</dt><dd id="dedup-leaders">—</dd>
      <dt>in flight</dt><dd id="dedup-inflight">—</dd>
    </dl>
  </section>
  <section id="queue">
    <h2>Queues <small id="queue-mode"></small></h2>
    <p id="queue-note" class="note" hidden></p>
    <table>
      <thead><tr><th>class</th><th>waiting</th><th>running</th></tr></thead>
      <tbody id="queue-body"></tbody>
    </table>
  </section>
  <section id="modes">
    <h2>Degraded modes <span id="modes-summary" class="pill muted">…</span></h2>
    <p id="modes-note" class="note" hidden></p>
    <table>
      <thead><tr><th>subsystem</th><th>mode</th></tr></thead>
      <tbody id="modes-body"></tbody>
    </table>
  </section>
  <section class="wide" id="sla">
    <h2>SLA <small id="sla-targets"></small></h2>
    <p id="sla-note" class="note" hidden></p>
    <table>
      <thead><tr><th>window</th><th>requests</th><th>availability</th><th>p50</th><th>p95</th><th>p99</th><th>burn rate</th><th>target</th></tr></thead>
      <tbody id="sla-body"></tbody>
    </table>
  </section>
  <section class="wide" id="failovers">
    <h2>Recent failovers <small><span id="failovers-total">—</span> since start</small></h2>
    <p id="failovers-note" class="note" hidden></p>
    <table>
      <thead><tr><th>time</th><th>from</th><th>to</th><th>reason</th></tr></thead>
      <tbody id="failovers-body"></tbody>
    </table>
  </section>
</main>
<script nonce="${nonce}">${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;
}
