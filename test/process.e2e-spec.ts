import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeProvider, type FakeProvider } from './fake-provider';
import { fakeProviders } from './support/gateway';
import { runGateway, waitForHealth } from './support/gateway-process';
import { freePort } from './support/redis-server';

describe('the gateway process', () => {
  it('starts on embedded defaults with no configuration and no Redis, and says so', async () => {
    const port = await freePort();
    const gw = runGateway({ PORT: String(port), NODE_ENV: 'production' });
    try {
      await waitForHealth(`http://127.0.0.1:${port}`);
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
      expect(ready.status).toBe(200);
      expect(gw.output()).toContain('no providers configured yet');
      expect(gw.output()).toContain('Redis not configured');
    } finally {
      gw.child.kill('SIGTERM');
      await gw.exited;
    }
  });

  it('keeps running on SIGUSR2 and SIGHUP (only SIGTERM / SIGINT stop it)', async () => {
    const port = await freePort();
    const gw = runGateway({ PORT: String(port), NODE_ENV: 'production' });
    try {
      await waitForHealth(`http://127.0.0.1:${port}`);
      gw.child.kill('SIGUSR2');
      gw.child.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 500));
      expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
      expect(gw.output()).toContain('SIGUSR2 received: ignored');
    } finally {
      gw.child.kill('SIGTERM');
      await gw.exited;
    }
  });

  it('exits with code 1 and names the key path and file of an invalid config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-bad-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ Providers: [{ name: 'x', api_base_url: 'nope', models: ['m'] }] }));
    const gw = runGateway({ SWITCHYARD_CONFIG: file, NODE_ENV: 'production' });
    expect(await gw.exited).toBe(1);
    expect(gw.output()).toContain('Providers[0].api_base_url');
    expect(gw.output()).toContain(file);
    expect(gw.output()).not.toMatch(/at .*\(.*\.ts:\d+/);
  });

  describe('on SIGTERM', () => {
    let fake: FakeProvider;
    beforeAll(async () => {
      fake = await startFakeProvider();
    });
    afterAll(() => fake.close());

    it('finishes an in-flight streamed answer, refuses new work, then exits', async () => {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'sy-cfg-'));
      const file = join(dir, 'config.json');
      writeFileSync(file, JSON.stringify({ Providers: fakeProviders(fake.url), Router: { default: 'openai,gpt-fake' } }));
      const gw = runGateway({ SWITCHYARD_CONFIG: file, PORT: String(port), NODE_ENV: 'production' });
      const url = `http://127.0.0.1:${port}`;
      try {
        await waitForHealth(url);
        const slow = fetch(`${url}/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'claude-x',
            max_tokens: 50,
            stream: true,
            messages: [{ role: 'user', content: 'Hi [[fake:{"chunkCount":6,"chunkGapMs":150}]]' }],
          }),
        }).then((r) => r.text());
        while (fake.inFlight() === 0) {
          await new Promise((r) => setTimeout(r, 20));
        }
        gw.child.kill('SIGTERM');
        const body = await slow;
        expect(body).toContain('event: message_stop');
        expect(body).not.toContain('event: error');
        await gw.exited;
        await expect(fetch(`${url}/health/live`)).rejects.toThrow();
        expect(gw.output()).toContain('shutting down');
      } finally {
        gw.child.kill('SIGKILL');
      }
    });
  });
});
