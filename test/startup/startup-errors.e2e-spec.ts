import { rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { cliEnv, runCli, tempHome, transcript } from '../cli/cli-process';
import { runGateway, waitForHealth } from '../support/gateway-process';
import { freePort } from '../support/redis-server';

/** What an operator must not get instead of the one-line message: a stack frame or an ANSI colour. */
function expectNoStackNorColour(output: string): void {
  expect(output).not.toMatch(/^\s+at /m);
  expect(output).not.toContain(String.fromCharCode(27));
}

describe('startup errors: one line per problem, exit 1, no stack', () => {
  let home: string;
  beforeAll(() => (home = tempHome()));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  // Each case is a process of its own: they start together (a ts-node boot each).
  it('an invalid REDIS_URL (localhost:6379, http://foo) fails like any other configuration error (node dist/main.js)', async () => {
    const urls = ['localhost:6379', 'http://foo'];
    const ports = await Promise.all(urls.map(() => freePort()));
    const gws = urls.map((url, i) =>
      runGateway({ REDIS_URL: url, NODE_ENV: 'production', PORT: String(ports[i]) }),
    );
    for (const gw of gws) {
      expect(await gw.exited).toBe(1);
      expect(gw.output()).toBe(
        'switchyard: invalid configuration:\n' +
          '  - Redis.url: must be a URL redis://host[:port][/db] or rediss://… (from environment variable REDIS_URL)\n',
      );
    }
  });

  it('names the real source: LOG_LEVEL=verbose is one problem, --role bogus comes from the command line', async () => {
    const port = String(await freePort());
    const level = runGateway({ LOG_LEVEL: 'verbose', NODE_ENV: 'production', PORT: port });
    const role = runGateway({ NODE_ENV: 'production', PORT: port }, ['--role', 'bogus']);
    expect(await level.exited).toBe(1);
    expect(level.output()).toMatch(
      /^switchyard: invalid configuration:\n {2}- LOG_LEVEL: .* \(from environment variable LOG_LEVEL\)\n$/,
    );
    expect(await role.exited).toBe(1);
    expect(role.output()).toMatch(
      /^switchyard: invalid configuration:\n {2}- JobQueue.role: .* \(from command-line flag --role\)\n$/,
    );
  });

  describe('a port already in use', () => {
    let taken: Server;
    let port: number;
    beforeAll(async () => {
      taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      port = (taken.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

    it('node dist/main.js: one line, exit 1, and no "successfully started" before it', async () => {
      const gw = runGateway({ NODE_ENV: 'production', PORT: String(port) });
      expect(await gw.exited).toBe(1);
      expect(gw.output()).toBe(`switchyard: port ${port} on 127.0.0.1 is already in use\n`);
    });

    it('switchyard start: the same line once on stderr, nothing on stdout', async () => {
      const run = await runCli(['start', '--port', String(port)], {
        env: cliEnv(home, { NODE_ENV: 'production' }),
      });
      expect(transcript(run)).toMatchObject({
        code: 1,
        stdout: '',
        stderr: `switchyard: port ${port} on 127.0.0.1 is already in use\n`,
      });
    });
  });

  it('switchyard start prints an invalid REDIS_URL once, without a stack', async () => {
    const run = await runCli(['start'], {
      env: cliEnv(home, {
        REDIS_URL: 'localhost:6379',
        NODE_ENV: 'production',
        PORT: String(await freePort()),
      }),
    });
    expect(transcript(run)).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr.match(/invalid configuration/g)).toHaveLength(1);
    expect(run.stderr).toContain('Redis.url: must be a URL redis://');
    expect(run.stderr).toContain('(from environment variable REDIS_URL)');
    expectNoStackNorColour(run.stderr);
  });
});

describe('startup warnings', () => {
  it('NODE_ENV=staging without config/staging.json logs one warning naming the files there are, and runs', async () => {
    const port = await freePort();
    const gw = runGateway({ NODE_ENV: 'staging', PORT: String(port) });
    try {
      await waitForHealth(`http://127.0.0.1:${port}`);
      const warnings = gw
        .output()
        .split('\n')
        .filter((line) => line.includes('NODE_ENV=staging'));
      expect(warnings).toHaveLength(1);
      expect(JSON.parse(warnings[0])).toMatchObject({
        level: 40,
        context: 'config',
        msg: expect.stringContaining('environment files in') as unknown,
      });
      expect(warnings[0]).toContain('development, production, test');
    } finally {
      gw.child.kill('SIGTERM');
      await gw.exited;
    }
  });
});
