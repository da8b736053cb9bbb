import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ProviderConfig } from '../provider.types';
import { loadCustomTransformers } from './custom-transformers';
import { TransformerRegistry } from './transformer.registry';
import type { TransformContext } from './transformer.types';

const EXAMPLE = resolve(__dirname, '../../../examples/transformers/example-transformer.js');

function provider(over: Partial<ProviderConfig> = {}): ProviderConfig {
  return {
    name: 'p',
    api_base_url: 'https://example.test/v1/chat/completions',
    models: ['Big-Model', 'small'],
    ...over,
  };
}

function ctx(p: ProviderConfig, kind: TransformContext['kind'] = 'openai'): TransformContext {
  return {
    provider: p,
    model: 'small',
    kind,
    request: { model: 'c', max_tokens: 10, messages: [] },
    stream: false,
  };
}

describe('TransformerRegistry', () => {
  it('builds the provider chain then the model chain, with options, matching names case-insensitively', () => {
    const p = provider({
      transformer: {
        use: ['OpenRouter', ['maxtoken', { max_tokens: 100 }]],
        'big-model': { use: ['enhancetool'] },
      },
    });
    const reg = new TransformerRegistry();
    const chain = reg.chainFor(p, 'Big-Model');
    expect(chain.transformers.map((t) => t.name)).toEqual(['openrouter', 'maxtoken', 'enhancetool']);
    expect(chain.names).toEqual(['openrouter', 'maxtoken', 'enhancetool']);
    expect(chain.warnings).toEqual([]);
    expect(reg.chainFor(p, 'small').transformers.map((t) => t.name)).toEqual(['openrouter', 'maxtoken']);
    expect(reg.chainFor(p, 'small')).toBe(reg.chainFor(p, 'small')); // cached per config object
  });

  it('accepts a bare list under a model key', () => {
    const p = provider({ transformer: { small: ['cleancache'] } });
    expect(new TransformerRegistry().chainFor(p, 'small').transformers.map((t) => t.name)).toEqual([
      'cleancache',
    ]);
  });

  it('reports unknown or malformed entries as warnings instead of failing', () => {
    const p = provider({
      transformer: { use: ['nope', 42 as unknown as string], small: { use: ['alsonope'] } },
    });
    const chain = new TransformerRegistry().chainFor(p, 'small');
    expect(chain.transformers).toEqual([]);
    expect(chain.warnings).toHaveLength(3);
    expect(chain.warnings[0]).toMatch(
      /^provider "p": unknown transformer "nope" ignored \(known: .*deepseek/,
    );
    expect(chain.warnings[1]).toMatch(/invalid transformer entry 42/);
    expect(chain.warnings[2]).toMatch(/^provider "p" model "small": unknown transformer "alsonope"/);
  });
});

describe('loadCustomTransformers', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'swy-transformers-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads the shipped example module and binds module + per-use options', async () => {
    const loaded = loadCustomTransformers([{ path: EXAMPLE, options: { tag: 'team-a' } }]);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.transformers.map((t) => t.name)).toEqual(['example']);
    const reg = new TransformerRegistry(loaded.transformers);
    const p = provider({
      transformer: { use: ['example'], small: { use: [['Example', { tag: 'team-b' }]] } },
    });
    const [fromProvider, fromModel] = reg.chainFor(p, 'small').transformers;
    expect(await fromProvider.request!({}, ctx(p))).toEqual({ user: 'team-a' });
    expect(await fromModel.request!({}, ctx(p))).toEqual({ user: 'team-b' });
    expect(await fromModel.request!({}, ctx(p, 'anthropic'))).toEqual({});
    const hooks = fromModel.response!(ctx(p))!;
    expect(hooks.chunk!({ obfuscation: 'x', choices: [] })).toEqual([{ choices: [] }]);
  });

  it('adapts CCR-style modules (transformRequestIn / transformResponseOut on web Responses)', async () => {
    const file = join(dir, 'ccr.js');
    writeFileSync(
      file,
      `class Ccr {
        constructor(options) { this.name = 'ccr-style'; this.options = options || {}; }
        async transformRequestIn(request, provider) { return { ...request, provider_name: provider.name, ...this.options }; }
        async transformResponseOut(response) {
          if (response.headers.get('content-type').includes('json')) {
            const json = await response.json(); json.touched = true;
            return new Response(JSON.stringify(json), { headers: response.headers });
          }
          const text = (await response.text()).replace(/hello/g, 'HELLO');
          return new Response(text, { headers: response.headers });
        }
      }
      module.exports = Ccr;`,
    );
    const loaded = loadCustomTransformers([{ path: 'ccr.js', options: { extra: 1 } }], { baseDir: dir });
    expect(loaded.warnings).toEqual([]);
    const t = loaded.transformers[0].factory({});
    const p = provider();
    expect(await t.request!({ model: 'm' }, ctx(p))).toEqual({ model: 'm', provider_name: 'p', extra: 1 });
    const hooks = t.response!(ctx(p))!;
    expect(await hooks.body!({ a: 1 })).toEqual({ a: 1, touched: true });
    async function* src(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('data: {"x":"hel');
      yield Buffer.from('lo"}\n\n');
    }
    let text = '';
    for await (const b of hooks.bytes!(src())) {
      text += Buffer.from(b).toString();
    }
    expect(text).toBe('data: {"x":"HELLO"}\n\n');
  });

  it('takes the body out of a CCR transformRequestIn that answers { body, config }, and the call overrides', async () => {
    const file = join(dir, 'ccr-wrapped.js');
    writeFileSync(
      file,
      `module.exports = class {
        constructor() { this.name = 'wrapped'; }
        transformRequestIn(request, provider) {
          const url = new URL('/alt/chat/completions', provider.baseUrl);
          return { body: { ...request, wrapped: true }, config: { url, headers: { 'x-extra': '1', n: 2 } } };
        }
      };`,
    );
    const loaded = loadCustomTransformers([{ path: file }]);
    const t = loaded.transformers[0].factory({});
    const c = ctx(provider());
    expect(await t.request!({ model: 'm' }, c)).toEqual({ model: 'm', wrapped: true });
    expect(c.upstream).toEqual({ url: 'https://example.test/alt/chat/completions', headers: { 'x-extra': '1' } });
  });

  it('accepts an exports.default object implementing the Switchyard interface', () => {
    const file = join(dir, 'obj.js');
    writeFileSync(file, `exports.default = { name: 'obj', request: (b) => ({ ...b, obj: true }) };`);
    const loaded = loadCustomTransformers([{ path: file }]);
    expect(loaded.transformers.map((t) => t.name)).toEqual(['obj']);
  });

  it('turns broken modules into warnings', () => {
    writeFileSync(join(dir, 'noname.js'), 'module.exports = class { transformRequestIn(r) { return r; } };');
    writeFileSync(join(dir, 'throws.js'), 'throw new Error("boom at load");');
    const loaded = loadCustomTransformers(
      [
        { path: join(dir, 'missing.js') },
        { path: join(dir, 'noname.js') },
        { path: join(dir, 'throws.js') },
        {} as never,
      ],
      { baseDir: dir },
    );
    expect(loaded.transformers).toEqual([]);
    expect(loaded.warnings).toHaveLength(4);
    expect(loaded.warnings.join('\n')).toMatch(/boom at load/);
    expect(loaded.warnings.join('\n')).toMatch(/no transformer with a `name`/);
  });
});
