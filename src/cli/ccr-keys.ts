/**
 * What each Claude Code Router top-level key becomes in Switchyard, for `switchyard migrate-config` and
 * docs/migration-from-ccr.md. Whether a key is used or ignored is NOT decided here: that comes from the
 * config schema (KNOWN_TOP_LEVEL_KEYS, IGNORED_CCR_KEYS), so this table cannot drift from what the loader does.
 */
export interface CcrKeyNote {
  /** Where the setting lives in Switchyard (when it is used). */
  target?: string;
  note: string;
}

export const CCR_KEY_NOTES: Record<string, CcrKeyNote> = {
  HOST: {
    target: 'HOST',
    note: 'listen address (default 127.0.0.1). CCR forced 127.0.0.1 without APIKEY; Switchyard binds as written and logs a warning',
  },
  PORT: { target: 'PORT', note: 'listen port (default 3456, as CCR)' },
  APIKEY: {
    target: 'APIKEY',
    note: 'every route except /health/* needs it (x-api-key or Authorization: Bearer); `switchyard code` sends it',
  },
  LOG: {
    target: 'LOG',
    note: 'false turns the per-request access line off; logs are pino JSON lines on stdout (not ~/.claude-code-router/logs)',
  },
  LOG_LEVEL: { target: 'Logging.level', note: 'log level (fatal … trace, silent)' },
  API_TIMEOUT_MS: {
    target: 'API_TIMEOUT_MS',
    note: 'upstream header and idle-body timeout; `switchyard code` gives it to Claude Code as well, as `ccr code` did',
  },
  PROXY_URL: { target: 'PROXY_URL', note: 'HTTP(S) proxy for every upstream call' },
  CUSTOM_ROUTER_PATH: {
    target: 'CUSTOM_ROUTER_PATH',
    note: 'same contract: async (req, config) => "provider,model" | null; req has body, headers, tokenCount, sessionId, log',
  },
  Providers: {
    target: 'Providers',
    note: 'same fields; the provider kind comes from its transformers (or `kind`)',
  },
  Router: {
    target: 'Router',
    note: 'same scenario slots; a slot may also be a list whose tail are fallbacks',
  },
  fallback: {
    target: 'fallback',
    note: 'CCR v2 fallback lists per scenario, tried after the slot’s own targets',
  },
  transformers: {
    target: 'transformers',
    note: 'custom transformer modules; transformRequestIn / transformResponseOut are honoured',
  },
  NON_INTERACTIVE_MODE: {
    note: '`switchyard code` leaves Claude Code’s terminal settings alone; for automation set CI=true yourself',
  },
  StatusLine: { note: 'no status line command; `switchyard status` shows the gateway’s state' },
  CLAUDE_PATH: { note: 'set the CLAUDE_PATH environment variable instead: `switchyard code` reads it' },
  forceUseImageAgent: { note: 'no image agent: requests with images go to Router.image' },
  LOG_FILE: {
    note: 'logs go to stdout; a gateway started by `switchyard code` logs to ~/.switchyard/gateway-<port>.log',
  },
  ANTHROPIC_SMALL_FAST_MODEL: {
    note: 'Claude Code’s small/fast (haiku) requests are routed to Router.background instead',
  },
};

/** The scenarios a Router slot or a `fallback` key may name (docs/routing.md). */
export const ROUTER_SLOTS = ['default', 'background', 'think', 'longContext', 'webSearch', 'image'];


