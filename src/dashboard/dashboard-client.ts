/**
 * The status page's script, sent inline (no build step, no CDN). Plain ES2017 for any browser; it is a
 * string, so it uses no template literals. Every value from the API reaches the DOM through textContent.
 *
 * Formats (the browser test relies on them): shares as `12.3%`, latencies as `123 ms`, scores with two
 * decimals, counts as integers, `—` for "no data".
 */
export const DASHBOARD_SCRIPT = String.raw`
(function () {
  'use strict';
  var KEY = 'switchyard.apiKey';
  var params = new URLSearchParams(location.search);
  if (params.has('key')) {
    sessionStorage.setItem(KEY, params.get('key') || '');
    params.delete('key');
    var rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? '?' + rest : ''));
  }
  var every = Math.min(60000, Math.max(1000, Number(params.get('refresh')) || 3000));
  var refreshes = 0;
  var timer = null;

  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  function num(v) { return typeof v === 'number' && isFinite(v) ? v : null; }
  function pct(v) { v = num(v); return v === null ? '—' : (v * 100).toFixed(1) + '%'; }
  function ms(v) { v = num(v); return v === null ? '—' : Math.round(v) + ' ms'; }
  function int(v) { v = num(v); return v === null ? '—' : String(Math.round(v)); }
  function score(v) { v = num(v); return v === null ? '—' : v.toFixed(2); }
  function clock(t) { return new Date(t).toLocaleTimeString(); }
  function row(cells, attrs) {
    var tr = document.createElement('tr');
    Object.keys(attrs || {}).forEach(function (k) { tr.setAttribute(k, attrs[k]); });
    cells.forEach(function (c) {
      var td = el('td', c.text, c.cls);
      if (c.field) { td.setAttribute('data-field', c.field); }
      tr.appendChild(td);
    });
    return tr;
  }
  function fill(id, rows, empty, columns) {
    var body = $(id);
    body.replaceChildren();
    if (rows.length === 0) {
      var tr = document.createElement('tr');
      var td = el('td', empty, 'muted');
      td.colSpan = columns;
      tr.appendChild(td);
      body.appendChild(tr);
    }
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function setText(id, text, cls) {
    var e = $(id);
    e.textContent = text;
    if (cls !== undefined) { e.className = cls; }
  }
  function unavailable(section, why) {
    var note = $(section + '-note');
    note.textContent = why || '';
    note.hidden = !why;
  }

  function AuthError() {}
  function get(path) {
    var key = sessionStorage.getItem(KEY);
    return fetch(path, { headers: key ? { 'x-api-key': key } : {}, cache: 'no-store' }).then(function (res) {
      if (res.status === 401) { throw new AuthError(); }
      return res.json().then(
        function (body) { return { ok: res.ok, status: res.status, body: body }; },
        function () { return { ok: false, status: res.status, body: null }; }
      );
    }, function (err) { return { ok: false, status: 0, body: null, error: String(err) }; });
  }

  function renderProviders(r) {
    if (!r.ok) { unavailable('providers', 'unavailable (' + r.status + ')'); return; }
    unavailable('providers');
    var rows = r.body.targets.map(function (t) {
      var circuit = t.circuit.state + (t.circuit.cooldownUntil ? ' · cooling down' : '');
      var last = t.stats.lastError ? t.stats.lastError.message : '';
      return row([
        { text: t.target, field: 'target' },
        { text: score(t.score), field: 'score', cls: t.healthy ? 'ok' : 'bad' },
        { text: circuit, field: 'circuit', cls: t.circuit.state === 'closed' ? 'ok' : 'bad' },
        { text: ms(t.ttfb.p50), field: 'ttfb-p50' },
        { text: ms(t.ttfb.p95), field: 'ttfb-p95' },
        { text: pct(t.stats.successRate), field: 'success' },
        { text: int(t.stats.samples), field: 'samples' },
        { text: last, field: 'last-error', cls: 'muted small' }
      ], { 'data-target': t.target });
    });
    fill('providers-body', rows, 'no provider configured', 8);
  }

  function renderStats(r) {
    if (!r.ok) {
      ['cache', 'dedup', 'modes'].forEach(function (s) { unavailable(s, 'unavailable (' + r.status + ')'); });
      return;
    }
    ['cache', 'dedup', 'modes'].forEach(function (s) { unavailable(s); });
    var c = r.body.cache;
    setText('cache-hit-rate', pct(c.hitRate));
    setText('cache-hits', int(c.hits));
    setText('cache-misses', int(c.misses));
    setText('cache-stores', int(c.stores));
    setText('cache-entries', int(c.tiers.memory.entries));
    var d = r.body.dedup;
    var joins = d.leaders + d.followers;
    setText('dedup-savings', joins === 0 ? '—' : pct(d.followers / joins));
    setText('dedup-followers', int(d.followers));
    setText('dedup-leaders', int(d.leaders));
    setText('dedup-inflight', int(d.inFlight));
    var modes = r.body.modes || {};
    var rows = Object.keys(modes).map(function (s) {
      var mode = modes[s];
      return row([
        { text: s, field: 'subsystem' },
        { text: mode === 'local' ? 'degraded (local)' : mode, field: 'mode', cls: mode === 'local' ? 'bad' : mode === 'redis' ? 'ok' : 'muted' }
      ], { 'data-subsystem': s });
    });
    fill('modes-body', rows, 'no subsystem reported', 2);
    var degraded = Object.keys(modes).filter(function (s) { return modes[s] === 'local'; });
    setText('modes-summary', degraded.length ? degraded.length + ' degraded' : 'none degraded', degraded.length ? 'pill bad' : 'pill ok');
  }

  function renderQueue(r) {
    if (!r.ok) { unavailable('queue', 'unavailable (' + r.status + ')'); return; }
    unavailable('queue');
    setText('queue-mode', r.body.mode);
    var depth = r.body.depth || {};
    var rows = Object.keys(depth).map(function (cls) {
      var q = depth[cls];
      var waiting = (q.local_waiting || 0) + (q.waiting || 0) + (q.prioritized || 0) + (q.delayed || 0);
      var running = (q.local_running || 0) + (q.active || 0);
      return row([
        { text: cls, field: 'class' },
        { text: int(waiting), field: 'waiting' },
        { text: int(running), field: 'running' }
      ], { 'data-class': cls });
    });
    fill('queue-body', rows, 'no queue', 3);
  }

  function renderSla(r) {
    if (!r.ok) {
      fill('sla-body', [], '', 8);
      unavailable('sla', r.status === 404 ? 'SLA tracking is not available on this gateway' : 'unavailable (' + r.status + ')');
      return;
    }
    unavailable('sla');
    setText('sla-targets', 'target availability ' + pct(r.body.targets.availability) + ' · p95 ' + ms(r.body.targets.p95Ms));
    var windows = r.body.windows || {};
    var rows = Object.keys(windows).map(function (name) {
      var w = windows[name];
      if (!w) {
        return row([{ text: name, field: 'window' }, { text: 'no data', field: 'total', cls: 'muted' }, {}, {}, {}, {}, {}, {}], { 'data-window': name });
      }
      var met = w.met.availability === null ? '—' : (w.met.availability && w.met.p95 !== false ? 'met' : 'missed');
      return row([
        { text: name, field: 'window' },
        { text: int(w.total), field: 'total' },
        { text: pct(w.availability), field: 'availability' },
        { text: ms(w.latencyMs.p50), field: 'p50' },
        { text: ms(w.latencyMs.p95), field: 'p95' },
        { text: ms(w.latencyMs.p99), field: 'p99' },
        { text: w.errorBudget.burnRate === null ? '—' : w.errorBudget.burnRate.toFixed(2), field: 'burn' },
        { text: met, field: 'met', cls: met === 'met' ? 'ok' : met === 'missed' ? 'bad' : 'muted' }
      ], { 'data-window': name });
    });
    fill('sla-body', rows, 'no window', 8);
  }

  function renderFailovers(r) {
    if (!r.ok) { unavailable('failovers', 'unavailable (' + r.status + ')'); return; }
    unavailable('failovers');
    setText('failovers-total', int(r.body.total));
    var rows = r.body.events.map(function (e) {
      return row([
        { text: clock(e.at), field: 'at' },
        { text: e.from, field: 'from' },
        { text: e.to, field: 'to' },
        { text: e.reason, field: 'reason' }
      ]);
    });
    fill('failovers-body', rows, 'no failover yet', 4);
  }

  function renderReady(r) {
    var status = r.body && r.body.status;
    setText('ready', status === 'ok' ? 'ready' : 'not ready', status === 'ok' ? 'pill ok' : 'pill bad');
  }

  function showLogin(message) {
    $('login').hidden = false;
    $('login-message').textContent = message;
    $('content').hidden = true;
  }

  function refresh() {
    clearTimeout(timer);
    Promise.all([
      get('/api/providers'), get('/api/stats'), get('/api/queue'), get('/api/sla'), get('/api/failovers'),
      get('/health/ready')
    ]).then(function (all) {
      $('login').hidden = true;
      $('content').hidden = false;
      var renderers = [renderProviders, renderStats, renderQueue, renderSla, renderFailovers, renderReady];
      renderers.forEach(function (render, i) {
        try { render(all[i]); } catch (err) { console.error(err); }
      });
      refreshes += 1;
      document.body.setAttribute('data-refreshes', String(refreshes));
      setText('updated', 'updated ' + clock(Date.now()) + ' · every ' + every / 1000 + ' s');
      timer = setTimeout(refresh, every);
    }, function (err) {
      if (err instanceof AuthError) {
        showLogin(sessionStorage.getItem(KEY) ? 'That API key was refused.' : 'This gateway needs its API key.');
        return;
      }
      setText('updated', 'refresh failed: ' + err);
      timer = setTimeout(refresh, every);
    });
  }

  $('login').addEventListener('submit', function (ev) {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $('key').value);
    $('key').value = '';
    refresh();
  });
  $('refresh-now').addEventListener('click', refresh);
  $('logout').addEventListener('click', function () {
    sessionStorage.removeItem(KEY);
    clearTimeout(timer);
    showLogin('Signed out.');
  });
  refresh();
})();
`;
