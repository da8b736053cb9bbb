import Anthropic from '@anthropic-ai/sdk';
import { spawn } from 'node:child_process';
import { RequestArrivalHook } from '../../src/common/request-arrival.hook';
import { startGateway, type GatewayUnderTest } from '../support/gateway';

/**
 * A burst from another process (as real clients are): every socket connected first, then every request written
 * in one go while this process (the gateway's) is kept busy, so they all become readable in one poll phase of
 * the gateway, as when a burst lands on a loaded gateway. Resolves with each raw answer, in order.
 */
function burstFrom(url: string, requests: string[], leaveEvery = 0): Promise<string[]> {
  const script = `
    const net = require('node:net');
    const { hostname, port } = new URL(process.argv[1]);
    const reqs = JSON.parse(process.argv[2]);
    const leaveEvery = Number(process.argv[3]);
    (async () => {
      const socks = await Promise.all(reqs.map(() => new Promise((ok, ko) => {
        const s = net.connect(Number(port), hostname, () => ok(s));
        s.once('error', ko);
      })));
      await new Promise((r) => setTimeout(r, 100)); // every connection accepted
      const answers = socks.map((s) => new Promise((ok, ko) => {
        const parts = [];
        s.on('data', (b) => parts.push(b));
        s.once('error', ko);
        s.once('close', () => ok(Buffer.concat(parts).toString('utf8')));
      }));
      process.stdout.write('ready\\n');
      await new Promise((r) => setTimeout(r, 50)); // the gateway is busy by now
      socks.forEach((s, i) => s.write(reqs[i]));
      // Some clients give up while their request waits in the gateway (the gateway is still blocked).
      socks.forEach((s, i) => leaveEvery > 0 && i % leaveEvery === leaveEvery - 1 && s.destroy());
      process.stdout.write(JSON.stringify(await Promise.all(answers)));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, url, JSON.stringify(requests), String(leaveEvery)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    let ready = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (!ready && out.includes('ready\n')) {
        ready = true;
        out = out.slice(out.indexOf('ready\n') + 'ready\n'.length);
        const until = performance.now() + 400;
        while (performance.now() < until) {
          // the gateway's loop is blocked while the whole burst is written
        }
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      try {
        if (code !== 0) {
          throw new Error(`burst client exited with ${code}`);
        }
        resolve(JSON.parse(out) as string[]);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

function rawRequest(method: string, path: string, body?: string): string {
  const head = `${method} ${path} HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\n`;
  return body === undefined
    ? `${head}\r\n`
    : `${head}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

const ask = (i: number): string =>
  JSON.stringify({
    model: 'claude-sonnet-4-5',
    max_tokens: 32,
    messages: [{ role: 'user', content: `admission burst request ${i}` }],
  });

/**
 * The loop-turn admission gate (src/common/admission-gate.ts, Server.admission) on the real application: a burst
 * written to many sockets at once reaches the gateway in one loop turn; the gate starts it over several turns.
 */
describe('loop-turn admission gate', () => {
  const N = 120;
  let gw: GatewayUnderTest | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  const burst = async (g: GatewayUnderTest) => {
    const hook = g.app.get(RequestArrivalHook);
    const before = hook.admission();
    const requests = Array.from({ length: N }, (_, i) => rawRequest('POST', '/v1/messages', ask(i)));
    requests.push(rawRequest('GET', '/health/live'), rawRequest('GET', '/v1/models'));
    const raw = await burstFrom(g.url, requests);
    const after = hook.admission();
    return {
      raw,
      direct: after.direct - before.direct,
      deferred: after.deferred - before.deferred,
      waiting: after.waiting,
    };
  };

  it('a burst arriving in one turn is spread over later turns; every request is answered; probes never wait', async () => {
    gw = await startGateway({
      config: { Server: { pingIntervalMs: 10_000, admission: { enabled: true, targetTurnMs: 10 } } },
    });
    const r = await burst(gw);
    for (const [i, text] of r.raw.entries()) {
      expect(text.startsWith('HTTP/1.1 200')).toBe(true);
      if (i < N) {
        expect(text).toContain('"type":"message"');
      }
    }
    // Exactly the model requests went through the gate (not the probe, not GET /v1/models)…
    expect(r.direct + r.deferred).toBe(N);
    // …and most of them waited for a later turn: one turn starts at most the initial quota (16).
    expect(r.direct).toBeLessThanOrEqual(16);
    expect(r.deferred).toBeGreaterThanOrEqual(N - 16);
    expect(r.waiting).toBe(0);
    expect(gw.app.get(RequestArrivalHook).admission().maxWaiting).toBeGreaterThanOrEqual(N - 16);
  });

  it('clients that leave while waiting in the gate cost nothing lasting: the rest are answered, none stays waiting', async () => {
    gw = await startGateway({
      config: { Server: { pingIntervalMs: 10_000, admission: { enabled: true, targetTurnMs: 10 } } },
    });
    const requests = Array.from({ length: N }, (_, i) => rawRequest('POST', '/v1/messages', ask(i)));
    const raw = await burstFrom(gw.url, requests, 5);
    for (const [i, text] of raw.entries()) {
      if (i % 5 !== 4) {
        expect(text.startsWith('HTTP/1.1 200')).toBe(true);
      }
    }
    const hook = gw.app.get(RequestArrivalHook);
    expect(hook.admission().waiting).toBe(0);
    expect(hook.admission().deferred).toBeGreaterThan(0);
    const client = new Anthropic({ baseURL: gw.url, apiKey: 'test', maxRetries: 0 });
    const after = await client.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'still serving' }],
    });
    expect(after.type).toBe('message');
  });

  it('a line longer than maxWaiting turns the excess away at once: 503 overloaded_error with retry-after, in each client format', async () => {
    gw = await startGateway({
      config: {
        Server: { pingIntervalMs: 10_000, admission: { enabled: true, targetTurnMs: 10, maxWaiting: 20 } },
      },
    });
    const chat = (i: number): string =>
      JSON.stringify({ model: 'openai,gpt-fake', messages: [{ role: 'user', content: `chat burst ${i}` }] });
    const requests = Array.from({ length: N }, (_, i) =>
      i % 2 === 0
        ? rawRequest('POST', '/v1/messages', ask(i))
        : rawRequest('POST', '/v1/chat/completions', chat(i)),
    );
    const raw = await burstFrom(gw.url, requests);
    const ok = raw.filter((t) => t.startsWith('HTTP/1.1 200'));
    const refused = raw.filter((t) => t.startsWith('HTTP/1.1 503'));
    expect(ok.length + refused.length).toBe(N); // nothing else: no hang, no lost request
    expect(refused.length).toBeGreaterThanOrEqual(N - 16 - 20 - 16); // at most a turn's quota plus the line got in
    for (const [i, text] of raw.entries()) {
      if (!text.startsWith('HTTP/1.1 503')) {
        continue;
      }
      expect(text.toLowerCase()).toContain('retry-after: 1');
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, any>;
      if (i % 2 === 0) {
        expect(body).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
      } else {
        expect(body.error).toMatchObject({ message: expect.stringContaining('saturated') });
      }
    }
    const stats = gw.app.get(RequestArrivalHook).admission();
    expect(stats.rejected).toBe(refused.length);
    expect(stats.waiting).toBe(0);
  });

  it('an idle gateway adds nothing: SDK requests one after another all go straight through', async () => {
    gw = await startGateway();
    const hook = gw.app.get(RequestArrivalHook);
    const before = hook.admission();
    const client = new Anthropic({ baseURL: gw.url, apiKey: 'test', maxRetries: 0 });
    for (let i = 0; i < 5; i++) {
      const msg = await client.messages.create({
        model: 'claude-sonnet-4-5',
        max_tokens: 16,
        messages: [{ role: 'user', content: `one at a time ${i}` }],
      });
      expect(msg.type).toBe('message');
    }
    const after = hook.admission();
    expect(after.direct - before.direct).toBe(5);
    expect(after.deferred - before.deferred).toBe(0);
  });

  it('Server.admission.enabled false: the gate is bypassed', async () => {
    gw = await startGateway({
      config: { Server: { pingIntervalMs: 10_000, admission: { enabled: false, targetTurnMs: 10 } } },
    });
    const r = await burst(gw);
    expect(r.raw.every((text) => text.startsWith('HTTP/1.1 200'))).toBe(true);
    expect(r.direct + r.deferred).toBe(0);
  });
});
