import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config';
import { cliEnv, ROOT, runCli, tempHome, transcript } from './cli-process';

const CCR_FIXTURE = join(ROOT, 'test', 'fixtures', 'ccr-config.json5');
const V2_FIXTURE = join(__dirname, 'fixtures', 'ccr-v2-config.json5');

interface KeyReport {
  key: string;
  status: string;
  target?: string;
  details: string[];
}

const byKey = (report: { keys: KeyReport[] }): Record<string, KeyReport> =>
  Object.fromEntries(report.keys.map((k) => [k.key, k]));

describe('switchyard migrate-config', () => {
  let home: string;

  beforeEach(() => {
    home = tempHome();
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  /** The custom router and transformer the v2 fixture names under ~/.claude-code-router. */
  function installCcrModules(): void {
    const dir = join(home, '.claude-code-router');
    mkdirSync(join(dir, 'plugins'), { recursive: true });
    writeFileSync(
      join(dir, 'custom-router.js'),
      'module.exports = async function router(req) { return req.tokenCount > 200000 ? "gemini,gemini-2.5-pro" : null; };\n',
    );
    writeFileSync(
      join(dir, 'plugins', 'strip-reasoning.js'),
      [
        'module.exports = class StripReasoning {',
        '  constructor(options) { this.options = options; this.name = "strip-reasoning"; }',
        '  async transformRequestIn(request) { delete request[this.options.field]; return request; }',
        '};',
        '',
      ].join('\n'),
    );
  }

  it('explains the project fixture: used keys, ignored CCR keys, missing modules; valid as it is', async () => {
    const run = await runCli(['migrate-config', CCR_FIXTURE], { env: cliEnv(home) });
    expect(transcript(run)).toMatchObject({ code: 0 });
    expect(run.stdout).toMatch(/NON_INTERACTIVE_MODE +✗ ignored/);
    expect(run.stdout).toMatch(/StatusLine +✗ ignored/);
    expect(run.stdout).toMatch(/Providers +✓ used/);
    expect(run.stdout).toContain('anthropic: anthropic kind, 1 model(s), transformers Anthropic');
    expect(run.stdout).toContain('gemini: gemini kind, 2 model(s), transformers gemini');
    expect(run.stdout).toContain('longContextThreshold: longContext above 60000 tokens');
    expect(run.stdout).toContain('custom transformer /tmp/gemini-cli.js not loaded');
    expect(run.stdout).toContain('CUSTOM_ROUTER_PATH /tmp/custom-router.js does not load');
    expect(run.stdout).toContain('references unset environment variable $OPENROUTER_API_KEY');
    expect(run.stdout).toContain("validation: OK — Switchyard's loader accepts the converted config");
    expect(run.stdout).toContain('the source file also loads as it is');
    expect(run.stdout).toContain('nothing written');
  });

  it('--json reports every top-level key with its status and the validation result', async () => {
    const run = await runCli(['migrate-config', CCR_FIXTURE, '--json'], { env: cliEnv(home) });
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({
      source: CCR_FIXTURE,
      parsed: true,
      valid: true,
      loadsAsIs: true,
      errors: [],
    });
    const keys = byKey(report);
    expect(Object.keys(keys)).toEqual([
      'APIKEY',
      'PROXY_URL',
      'LOG',
      'API_TIMEOUT_MS',
      'NON_INTERACTIVE_MODE',
      'CUSTOM_ROUTER_PATH',
      'transformers',
      'Providers',
      'Router',
      'fallback',
      'StatusLine',
    ]);
    expect(keys.NON_INTERACTIVE_MODE.status).toBe('ignored');
    expect(keys.StatusLine.status).toBe('ignored');
    expect(keys.APIKEY).toMatchObject({ status: 'used', target: 'APIKEY' });
    expect(keys.Providers.details).toHaveLength(7);
    expect(keys.fallback.details).toEqual(['default: openrouter,anthropic/claude-sonnet-4']);
    expect(report.summary).toMatchObject({ providers: 7, targets: 12 });
    expect(report.summary.routes.default).toEqual(['deepseek,deepseek-chat']);
  });

  it('converts a ccr-ui style v2 config: respells CCR values, warns, and --write output loads', async () => {
    installCcrModules();
    const out = join(home, '.switchyard', 'config.json');
    const run = await runCli(['migrate-config', V2_FIXTURE, '--write', out, '--json'], { env: cliEnv(home) });
    expect(transcript(run)).toMatchObject({ code: 0 });
    const report = JSON.parse(run.stdout);
    // The loader reads CCR's spellings (`""` for unset, numbers as strings) as CCR does: it loads as it is.
    expect(report).toMatchObject({ valid: true, loadsAsIs: true, written: out });

    const keys = byKey(report);
    for (const ignored of ['CLAUDE_PATH', 'NON_INTERACTIVE_MODE', 'forceUseImageAgent', 'StatusLine']) {
      expect(keys[ignored].status).toBe('ignored');
    }
    expect(keys.ANTHROPIC_SMALL_FAST_MODEL.status).toBe('unsupported');
    expect(keys.LOG_LEVEL).toMatchObject({ status: 'used', target: 'Logging.level' });
    expect(keys.transformers.details).toEqual([
      '~/.claude-code-router/plugins/strip-reasoning.js: transformer "strip-reasoning"',
    ]);
    expect(keys.CUSTOM_ROUTER_PATH.details).toEqual([
      `${join(home, '.claude-code-router', 'custom-router.js')}: loads, exports a function`,
    ]);

    expect(report.fixes).toEqual(
      expect.arrayContaining([
        'PORT: "3457" read as the number 3457',
        'API_TIMEOUT_MS: "600000" read as the number 600000',
        expect.stringMatching(/^APIKEY: the empty value is left out/),
        expect.stringMatching(/^PROXY_URL: the empty value is left out/),
        `CUSTOM_ROUTER_PATH: "~/.claude-code-router/custom-router.js" read as ${join(home, '.claude-code-router', 'custom-router.js')}`,
        'Router.longContextThreshold: "60000" read as 60000',
        expect.stringMatching(/^ANTHROPIC_SMALL_FAST_MODEL: left out/),
        expect.stringMatching(/^StatusLine: left out/),
      ]),
    );
    const warnings = report.warnings.join('\n');
    expect(warnings).toContain('unknown transformer "vertex-gemini" ignored');
    // The custom module's name is known once it is loaded: no warning for it.
    expect(warnings).not.toContain('unknown transformer "strip-reasoning"');
    expect(warnings).toContain(
      'Router.image: "groq,llama-3.2-90b-vision" names provider "groq", which is not in Providers; skipped when routing',
    );
    expect(warnings).toContain('fallback.coding is not a Switchyard scenario');
    expect(warnings).toContain('$OPENROUTER_API_KEY');

    // The written file: private, `$VAR` kept as a reference, and the real loader takes it without a warning
    // about unsupported keys.
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const written = JSON.parse(readFileSync(out, 'utf8'));
    expect(written.Providers[1].api_key).toBe('$OPENROUTER_API_KEY');
    expect(written).not.toHaveProperty('StatusLine');
    expect(written).not.toHaveProperty('APIKEY');
    const loaded = loadConfig({
      env: { HOME: home, NODE_ENV: 'test', SWITCHYARD_CONFIG: out, OPENROUTER_API_KEY: 'sk-or' },
    });
    expect(loaded.warnings).toEqual([]);
    expect(loaded.config).toMatchObject({
      PORT: 3457,
      API_TIMEOUT_MS: 600000,
      CUSTOM_ROUTER_PATH: join(home, '.claude-code-router', 'custom-router.js'),
      Router: { default: 'deepseek,deepseek-chat', longContextThreshold: 60000 },
      Logging: { level: 'debug' },
    });
    expect(loaded.config.APIKEY).toBeUndefined();
    expect(loaded.config.Providers.map((p) => p.name)).toEqual([
      'deepseek',
      'openrouter',
      'siliconflow',
      'gemini',
      'ollama',
    ]);
    expect(loaded.config.Providers[1].api_key).toBe('sk-or');
  });

  it('reads ~/.claude-code-router/config.json by default and tells the text story of a v2 config', async () => {
    installCcrModules();
    const ccr = join(home, '.claude-code-router', 'config.json');
    copyFileSync(V2_FIXTURE, ccr);
    const run = await runCli(['migrate-config'], { env: cliEnv(home) });
    expect(transcript(run)).toMatchObject({ code: 0 });
    expect(run.stdout).toContain(`Claude Code Router config: ${ccr}`);
    expect(run.stdout).toMatch(/CLAUDE_PATH +✗ ignored: set the CLAUDE_PATH environment variable instead/);
    expect(run.stdout).toMatch(/ANTHROPIC_SMALL_FAST_MODEL +✗ unsupported/);
    expect(run.stdout).toMatch(/LOG_LEVEL +✓ used → Logging\.level/);
    // `""`, numbers as strings and `~/` paths are read the way CCR reads them: the file loads unchanged.
    expect(run.stdout).toContain('the source file also loads as it is');
  });

  it('an invalid config: exit 1, the loader names the key path, nothing is written', async () => {
    const dir = join(home, 'bad');
    mkdirSync(dir);
    const file = join(dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({
        Providers: [{ name: 'x', api_base_url: 'not a url', models: ['m'] }],
        Router: { default: 'x,m' },
      }),
    );
    const out = join(dir, 'switchyard.json');
    const run = await runCli(['migrate-config', file, '--write', out], { env: cliEnv(home) });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('validation: FAILED');
    expect(run.stdout).toContain('Providers[0].api_base_url: must be an absolute http(s) URL');
    expect(existsSync(out)).toBe(false);

    const json = await runCli(['migrate-config', file, '--json'], { env: cliEnv(home) });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, loadsAsIs: false });
  });

  it('a file that is not JSON5, a missing file, and an existing --write target are errors', async () => {
    const broken = join(home, 'broken.json');
    writeFileSync(broken, '{ "Providers": [ }');
    const parse = await runCli(['migrate-config', broken], { env: cliEnv(home) });
    expect(parse.code).toBe(1);
    expect(parse.stdout).toContain(`cannot read ${broken} as JSON5`);

    const missing = await runCli(['migrate-config', join(home, 'nope.json')], { env: cliEnv(home) });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no Claude Code Router config at');

    const out = join(home, 'exists.json');
    writeFileSync(out, '{}');
    const refused = await runCli(['migrate-config', CCR_FIXTURE, '--write', out], { env: cliEnv(home) });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('exists; pass --force');
    expect(readFileSync(out, 'utf8')).toBe('{}');
    const forced = await runCli(['migrate-config', CCR_FIXTURE, '--write', out, '--force'], {
      env: cliEnv(home),
    });
    expect(forced.code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toHaveProperty('Providers');
  });
});
