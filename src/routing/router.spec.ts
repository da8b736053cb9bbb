import { GatewayError } from '../protocol/errors';
import type { CanonicalMessage, CanonicalRequest } from '../protocol/types';
import { decideRoute, stripContextSuffix, type RouteInput, type RouterSlots, type Scenario } from './router';

/** Configured models in their canonical spelling; lookups are case-insensitive, as in the registry. */
const CONFIGURED = [
  'OpenAI,GPT-Fake',
  'openai,haiku-fake',
  'openai,long-fake',
  'anthropic,claude-fake',
  'gemini,gemini-fake',
  'backup,b1',
  'backup,b2',
  'sub,agent',
];
const byLower = new Map(CONFIGURED.map((c) => [c.toLowerCase(), c]));
const resolve = (reference: string): string | undefined => byLower.get(reference.toLowerCase());

const ROUTER: RouterSlots = {
  longContextThreshold: 1000,
  default: 'openai,gpt-fake',
  background: 'openai,haiku-fake',
  think: 'anthropic,claude-fake',
  longContext: 'openai,long-fake',
  webSearch: 'gemini,gemini-fake',
  image: 'anthropic,claude-fake',
};

const TAG = '<CCR-SUBAGENT-MODEL>sub,agent</CCR-SUBAGENT-MODEL>';
const IMAGE = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } } as const;
const WEB_SEARCH = { type: 'web_search_20250305', name: 'web_search' };

function req(over: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return { model: 'claude-sonnet-4', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], ...over };
}

function route(over: Partial<RouteInput> & { request?: CanonicalRequest } = {}) {
  return decideRoute({ request: req(), tokenCount: 10, router: ROUTER, resolve, ...over });
}

/** Every trigger at once; each row removes the ones that win over the scenario it expects. */
interface Triggers {
  explicit?: boolean;
  long?: boolean;
  subagent?: boolean;
  haiku?: boolean;
  web?: boolean;
  think?: boolean;
  image?: boolean;
}

function build(t: Triggers): Pick<RouteInput, 'request' | 'tokenCount'> {
  const model = t.explicit
    ? 'anthropic,claude-fake'
    : t.haiku
      ? 'claude-3-5-haiku-20241022'
      : 'claude-sonnet-4';
  const messages: CanonicalMessage[] = [
    { role: 'user', content: t.image ? [{ type: 'text', text: 'look' }, IMAGE] : 'hi' },
  ];
  return {
    tokenCount: t.long ? 5000 : 10,
    request: req({
      model,
      messages,
      system: t.subagent ? `You are a helper. ${TAG}` : 'You are a helper.',
      tools: t.web ? [WEB_SEARCH] : [{ name: 'Bash', input_schema: { type: 'object' } }],
      thinking: t.think ? { type: 'enabled', budget_tokens: 2048 } : undefined,
    }),
  };
}

const ALL: Triggers = {
  explicit: true,
  long: true,
  subagent: true,
  haiku: true,
  web: true,
  think: true,
  image: true,
};

describe('decideRoute precedence', () => {
  it.each<[string, Triggers, Scenario, string]>([
    // CCR's image agent rewrites the model to Router.image before its router runs.
    ['image beats everything (even explicit)', ALL, 'image', 'anthropic,claude-fake'],
    ['explicit beats longContext, …', { ...ALL, image: false }, 'explicit', 'anthropic,claude-fake'],
    [
      'longContext beats subagent, background, …',
      { ...ALL, image: false, explicit: false },
      'longContext',
      'openai,long-fake',
    ],
    [
      'subagent beats background, …',
      { ...ALL, image: false, explicit: false, long: false },
      'subagent',
      'sub,agent',
    ],
    ['background beats webSearch, …', { web: true, think: true, haiku: true }, 'background', 'openai,haiku-fake'],
    ['webSearch beats think', { web: true, think: true }, 'webSearch', 'gemini,gemini-fake'],
    ['think beats default', { think: true }, 'think', 'anthropic,claude-fake'],
    ['image beats think (Claude Code sends thinking on every main turn)', { think: true, image: true }, 'image', 'anthropic,claude-fake'],
    ['default when nothing applies', {}, 'default', 'OpenAI,GPT-Fake'],
  ])('%s', (_name, triggers, scenario, target) => {
    const d = route(build(triggers));
    expect(d.scenario).toBe(scenario);
    expect(d.target).toBe(target);
  });

  it.each<[Scenario, Triggers, Scenario]>([
    ['image', { image: true, explicit: true }, 'explicit'],
    ['image', { image: true, think: true }, 'think'],
    ['longContext', { long: true, subagent: true }, 'subagent'],
    ['background', { haiku: true, web: true }, 'webSearch'],
    ['webSearch', { web: true, think: true }, 'think'],
    ['think', { think: true }, 'default'],
  ])('an unset %s slot falls through to the next rule', (slot, triggers, next) => {
    const router = { ...ROUTER, [slot]: undefined };
    expect(route({ ...build(triggers), router }).scenario).toBe(next);
  });

  it('a slot naming an unconfigured model falls through too', () => {
    const router = { ...ROUTER, think: 'nowhere,model' };
    expect(route({ ...build({ think: true }), router }).scenario).toBe('default');
  });

  it('the custom router target wins over explicit and longContext', () => {
    const d = route({ ...build({ explicit: true, long: true }), customTarget: 'gemini,GEMINI-FAKE' });
    expect([d.scenario, d.target]).toEqual(['custom', 'gemini,gemini-fake']);
  });

  it('a custom target that is not configured is ignored (built-in rules apply)', () => {
    expect(route({ ...build({ think: true }), customTarget: 'nope,x' }).scenario).toBe('think');
    expect(route({ ...build({ think: true }), customTarget: null }).scenario).toBe('think');
  });
});

describe('decideRoute long context', () => {
  it.each<[string, number, number | undefined, Scenario]>([
    ['at the threshold: not long', 1000, undefined, 'default'],
    ['one above the threshold', 1001, undefined, 'longContext'],
    ['small request, previous turn above the threshold: CCR needs > 20k now', 10, 1001, 'default'],
    ['small request, previous turn small', 10, 20, 'default'],
  ])('%s', (_name, tokenCount, previousInputTokens, scenario) => {
    expect(route({ tokenCount, previousInputTokens }).scenario).toBe(scenario);
  });
});

describe('decideRoute explicit provider,model', () => {
  it('matches case-insensitively and returns the configured spelling', () => {
    const d = route({ request: req({ model: 'openai,gpt-FAKE' }) });
    expect(d).toMatchObject({ scenario: 'explicit', target: 'OpenAI,GPT-Fake', fallbacks: [] });
  });

  it('strips the [1m] suffix before matching and in the forwarded request', () => {
    const d = route({ request: req({ model: 'anthropic,claude-fake[1m]' }) });
    expect(d.target).toBe('anthropic,claude-fake');
    expect(d.request.model).toBe('anthropic,claude-fake');
  });

  it.each(['unknown,model', 'openai,not-a-model'])('%s → 404 not_found_error', (model) => {
    let thrown: unknown;
    try {
      route({ request: req({ model }) });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    expect(thrown).toMatchObject({ status: 404, type: 'not_found_error' });
    expect((thrown as Error).message).toContain(model);
    // A CCR user may expect any model of a configured provider to pass: say what is needed and where to look.
    expect((thrown as Error).message).toContain('the model in its "models"; GET /v1/models lists them');
  });
});

describe('decideRoute unknown explicit model', () => {
  it('repeats at most 200 characters of a huge model name', () => {
    const model = `x,${'y'.repeat(100_000)}`;
    expect(() => route({ request: req({ model }) })).toThrow(GatewayError);
    try {
      route({ request: req({ model }) });
    } catch (e) {
      expect((e as Error).message.length).toBeLessThan(400);
      expect((e as Error).message).toContain(`${model.slice(0, 199)}…`);
    }
  });
});

describe('decideRoute model names', () => {
  it.each([
    ['claude-sonnet-4[1m]', 'claude-sonnet-4'],
    ['claude-sonnet-4[1M]', 'claude-sonnet-4'],
    ['claude-sonnet-4', 'claude-sonnet-4'],
    ['x[1m]y', 'x[1m]y'],
  ])('stripContextSuffix(%s) = %s', (input, out) => {
    expect(stripContextSuffix(input)).toBe(out);
  });

  it('a haiku model with [1m] still routes to background and is forwarded without the suffix', () => {
    const d = route({ request: req({ model: 'claude-haiku-4-5[1m]' }) });
    expect([d.scenario, d.request.model]).toEqual(['background', 'claude-haiku-4-5']);
  });

  it('thinking adaptive counts as think, disabled does not', () => {
    expect(route({ request: req({ thinking: { type: 'adaptive' } }) }).scenario).toBe('think');
    expect(route({ request: req({ thinking: { type: 'disabled' } }) }).scenario).toBe('default');
  });

  it('an image read by a tool (inside the last tool_result) triggers the image route, as in CCR', () => {
    const messages: CanonicalMessage[] = [
      { role: 'user', content: 'what is in shot.png?' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'Read', input: { file_path: 'shot.png' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [IMAGE] }] },
    ];
    const d = route({ request: req({ messages, thinking: { type: 'adaptive' } }) });
    expect([d.scenario, d.target]).toEqual(['image', 'anthropic,claude-fake']);
    const text: CanonicalMessage = {
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'plain file' }] }],
    };
    expect(route({ request: req({ messages: [...messages.slice(0, 2), text] }) }).scenario).toBe('default');
  });

  it('an image only in an earlier user turn does not trigger the image route', () => {
    const messages: CanonicalMessage[] = [
      { role: 'user', content: [IMAGE] },
      { role: 'assistant', content: 'nice' },
      { role: 'user', content: 'and now?' },
    ];
    expect(route({ request: req({ messages }) }).scenario).toBe('default');
  });
});

describe('decideRoute without a default', () => {
  it('answers 503 when nothing applies and Router.default is missing', () => {
    const router: RouterSlots = { longContextThreshold: 1000, think: 'anthropic,claude-fake' };
    expect(() => route({ router })).toThrow(expect.objectContaining({ status: 503, type: 'api_error' }));
    expect(route({ router, request: req({ thinking: { type: 'adaptive' } }) }).target).toBe(
      'anthropic,claude-fake',
    );
  });
});

describe('decideRoute fallbacks', () => {
  it('takes the tail of a slot list, then fallback.<scenario>, de-duplicated, without the primary', () => {
    const router = { ...ROUTER, default: ['openai,gpt-fake', 'backup,b1', 'OPENAI,GPT-FAKE', 'nowhere,x'] };
    const fallback = {
      default: ['backup,B1', 'backup,b2', 'openai,gpt-fake'],
      think: ['gemini,gemini-fake'],
    };
    const d = route({ router, fallback });
    expect(d.target).toBe('OpenAI,GPT-Fake');
    expect(d.fallbacks).toEqual(['backup,b1', 'backup,b2']);
  });

  it('uses the fallback list of the scenario that was chosen', () => {
    const fallback = { default: ['backup,b1'], think: ['gemini,gemini-fake', 'unknown,y'] };
    const d = route({ request: req({ thinking: { type: 'adaptive' } }), fallback });
    expect(d.fallbacks).toEqual(['gemini,gemini-fake']);
  });

  it('an unresolvable head of a slot list promotes the next entry', () => {
    const router = { ...ROUTER, think: ['nowhere,x', 'backup,b2'] };
    const d = route({ router, request: req({ thinking: { type: 'adaptive' } }) });
    expect([d.scenario, d.target, d.fallbacks]).toEqual(['think', 'backup,b2', []]);
  });
});

describe('decideRoute subagent tag', () => {
  const hasTag = (r: CanonicalRequest): boolean => JSON.stringify(r).includes('CCR-SUBAGENT-MODEL');

  it('is removed from a system string', () => {
    const d = route({ request: req({ system: `Be brief. ${TAG}` }) });
    expect([d.scenario, d.target, d.request.system]).toEqual(['subagent', 'sub,agent', 'Be brief.']);
  });

  it('is removed from system blocks, other blocks untouched', () => {
    const system = [
      { type: 'text' as const, text: 'first', cache_control: { type: 'ephemeral' as const } },
      { type: 'text' as const, text: `${TAG}\nsecond` },
    ];
    const d = route({ request: req({ system }) });
    expect(d.target).toBe('sub,agent');
    expect(d.request.system).toEqual([system[0], { type: 'text', text: 'second' }]);
  });

  it('is found in and removed from role:"system" messages (string and blocks)', () => {
    const messages: CanonicalMessage[] = [
      { role: 'system', content: `ctx ${TAG}` },
      { role: 'user', content: 'hi' },
      { role: 'system', content: [{ type: 'text', text: `more ${TAG}` }] },
    ];
    const d = route({ request: req({ messages }) });
    expect(d.scenario).toBe('subagent');
    expect(hasTag(d.request)).toBe(false);
    expect(d.request.messages[0]).toEqual({ role: 'system', content: 'ctx' });
    expect(d.request.messages[2]).toEqual({ role: 'system', content: [{ type: 'text', text: 'more' }] });
  });

  it('is removed even when the route is decided by a stronger rule', () => {
    const d = route({ request: req({ system: `x ${TAG}` }), tokenCount: 5000 });
    expect(d.scenario).toBe('longContext');
    expect(hasTag(d.request)).toBe(false);
  });

  it('in a user message is neither honoured nor removed', () => {
    const request = req({ messages: [{ role: 'user', content: `hi ${TAG}` }] });
    const d = route({ request });
    expect(d.scenario).toBe('default');
    expect(hasTag(d.request)).toBe(true);
  });

  it('naming an unconfigured model falls through to the next rule', () => {
    const system = '<CCR-SUBAGENT-MODEL>nope,x</CCR-SUBAGENT-MODEL>';
    const d = route({ request: req({ system, model: 'claude-haiku-4-5' }) });
    expect(d.scenario).toBe('background');
    expect(hasTag(d.request)).toBe(false);
    // …and says so, for the warning a misspelt tag deserves.
    expect(d.unknownSubagentTarget).toBe('nope,x');
    expect(route({ request: req({ system }) })).toMatchObject({ scenario: 'default', unknownSubagentTarget: 'nope,x' });
    expect(route({ request: req({ system: TAG }) }).unknownSubagentTarget).toBeUndefined();
  });

  it('leaves the input request untouched', () => {
    const request = req({ system: `a ${TAG}` });
    route({ request });
    expect(request.system).toBe(`a ${TAG}`);
  });
});
