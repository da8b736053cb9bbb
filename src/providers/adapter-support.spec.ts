import { loadClaudeCodeCaptures } from '../protocol/claude-code-fixtures.test-helpers';
import { ToolNameMap } from '../protocol/tool-ids';
import {
  resetToolsetIntern,
  setToolsetInternEnabled,
  toolsetInternStats,
  toolsetOf,
} from '../protocol/toolset-intern';
import type { CanonicalRequest } from '../protocol/types';
import { upstreamBodyText } from './adapter-support';
import { AnthropicAdapter } from './anthropic/anthropic.adapter';
import { OpenAIAdapter } from './openai/openai.adapter';
import type { ProviderConfig, Target, UpstreamCallContext } from './provider.types';
import { TransformerRegistry } from './transformers/transformer.registry';
import type { JsonObject, Transformer } from './transformers/transformer.types';
import type { UpstreamClient, UpstreamRequest } from './upstream.client';

/**
 * The upstream body text the adapters POST, with and without the toolset intern: byte-identical, including
 * when transformer hooks rewrite or replace the tools (the spliced text must never be used for those).
 */

const capture = loadClaudeCodeCaptures()[0].body;
const fresh = (): CanonicalRequest => JSON.parse(JSON.stringify(capture)) as CanonicalRequest;

class Captured extends Error {}

/** A client that records the body text and stops the call there. */
function recordingClient(bodies: string[]): UpstreamClient {
  return {
    request: (r: UpstreamRequest) => {
      bodies.push(String(r.body));
      return Promise.reject(new Captured('captured'));
    },
  } as unknown as UpstreamClient;
}

/** Replaces the tools array outright (a custom module could). */
const replaceTools: Transformer = {
  name: 'replacetools',
  request: (body: JsonObject) => ({ ...body, tools: [{ type: 'function', function: { name: 'only' } }] }),
};
/** Rewrites one description in place on the hook's copy. */
const rewriteDescription: Transformer = {
  name: 'rewritedescription',
  request: (body: JsonObject) => {
    const tools = body.tools as Array<Record<string, any>>;
    if (tools[0].function) {
      tools[0].function.description = 'rewritten';
    } else {
      tools[0].description = 'rewritten';
    }
    return body;
  },
};
/** A name mapper of its own (subclass): the conversion must not be served from the entry. */
class PrefixNames extends ToolNameMap {
  override upstream(name: string): string {
    return `x_${super.upstream(name)}`;
  }
}
const prefixNames: Transformer = {
  name: 'prefixnames',
  requestOptions: (opts) => ({ ...opts, toolNames: new PrefixNames() }),
};

const registry = new TransformerRegistry([
  { name: 'replacetools', factory: () => replaceTools },
  { name: 'rewritedescription', factory: () => rewriteDescription },
  { name: 'prefixnames', factory: () => prefixNames },
]);

const provider = (name: string, api_base_url: string, use: string[]): ProviderConfig => ({
  name,
  api_base_url,
  api_key: 'k',
  models: ['m'],
  transformer: { use },
});

const ctx = (): UpstreamCallContext => ({
  requestId: 'r',
  signal: new AbortController().signal,
  clientHeaders: {},
  inputTokensEstimate: 1,
  clientModel: 'claude',
});

const CHAINS: string[][] = [
  [],
  ['groq'],
  ['tooluse'],
  ['openrouter'],
  ['replacetools'],
  ['rewritedescription'],
  ['prefixnames'],
  ['groq', 'rewritedescription'],
];

async function bodiesFor(kind: 'openai' | 'anthropic', on: boolean): Promise<string[]> {
  setToolsetInternEnabled(on);
  try {
    const bodies: string[] = [];
    const deps = { client: recordingClient(bodies), transformers: registry };
    const adapter = kind === 'openai' ? new OpenAIAdapter(deps) : new AnthropicAdapter(deps);
    const base = kind === 'openai' ? 'https://api.example.com/v1' : 'https://api.anthropic.com/v1/messages';
    // Every chain twice, interleaved, each time on a fresh parse: the intern serves the repeats.
    for (const round of [0, 1]) {
      for (const use of CHAINS) {
        const target: Target = { provider: provider(`p${use.join('-')}${round}`, base, use), model: 'm' };
        await expect(adapter.send(fresh(), target, ctx())).rejects.toBeInstanceOf(Captured);
        await expect(adapter.send({ ...fresh(), stream: true }, target, ctx())).rejects.toBeInstanceOf(
          Captured,
        );
      }
    }
    expect(toolsetInternStats().hits > 0).toBe(on);
    return bodies;
  } finally {
    setToolsetInternEnabled(true);
  }
}

beforeEach(() => resetToolsetIntern());

describe('upstream body with the toolset intern', () => {
  it.each(['openai', 'anthropic'] as const)(
    '%s adapter: byte-identical bodies, with and without transformer hooks rewriting tools',
    async (kind) => {
      const withIntern = await bodiesFor(kind, true);
      const without = await bodiesFor(kind, false);
      expect(withIntern).toHaveLength(CHAINS.length * 4);
      expect(withIntern).toEqual(without);

      // The hooks did act (on their copies), and the shared entry was left as it was.
      const parsed = withIntern.map((b) => JSON.parse(b) as { tools: Array<Record<string, any>> });
      const at = (use: string): (typeof parsed)[number] =>
        parsed[CHAINS.findIndex((c) => c.join() === use) * 2];
      if (kind === 'openai') {
        expect(at('groq').tools[0].function.parameters.$schema).toBeUndefined();
        expect(at('tooluse').tools.map((t) => t.function.name)).toContain('ExitTool');
        expect(at('prefixnames').tools[0].function.name).toBe(`x_${capture.tools?.[0].name}`);
        expect(at('').tools[0].function.parameters.$schema).toBeDefined();
      }
      expect(at('replacetools').tools).toHaveLength(1);
      expect(JSON.stringify(at('rewritedescription').tools[0])).toContain('"rewritten"');
      expect(toolsetOf(fresh().tools)?.tools).toEqual(capture.tools);
      expect(parsed[CHAINS.length * 2]).toEqual(parsed[0]); // the plain chain again, after all the hooks
    },
  );

  it('upstreamBodyText is JSON.stringify for bodies without interned members', () => {
    const body = {
      model: 'm',
      messages: [{ role: 'user', content: 'é\n"' }],
      tools: fresh().tools,
      x: undefined,
    };
    expect(upstreamBodyText(body)).toBe(JSON.stringify(body));
  });
});
