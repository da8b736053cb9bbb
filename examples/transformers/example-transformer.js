'use strict';

/**
 * Example Switchyard custom transformer (see docs/providers.md, "Custom transformers").
 *
 * Load it from the config:
 *   "transformers": [{ "path": "./examples/transformers/example-transformer.js", "options": { "tag": "team-a" } }]
 * and use it on a provider or model:
 *   "transformer": { "use": ["example"] }   or   { "use": [["example", { "tag": "team-b" }]] }
 *
 * The module exports a class; Switchyard builds one instance per `use` entry with the module options
 * merged with the per-use options. Instances are shared by all requests of that provider/model, so keep
 * per-request state inside the object that `response()` returns.
 */
class ExampleTransformer {
  constructor(options = {}) {
    this.name = 'example';
    this.tag = typeof options.tag === 'string' ? options.tag : 'switchyard-example';
  }

  /** Optional: tweak the Anthropic -> OpenAI conversion options (OpenAI-compatible providers only). */
  requestOptions(opts) {
    return { ...opts, includeUsage: true };
  }

  /** Optional: rewrite the final upstream body. `ctx.kind` is 'openai' | 'anthropic' | 'gemini'. */
  request(body, ctx) {
    if (ctx.kind === 'openai') {
      // OpenAI's end-user identifier: lets the provider attribute usage to a team.
      body.user = this.tag;
    }
    return body;
  }

  /** Optional: per-request response hooks (OpenAI-compatible providers only). */
  response(ctx) {
    if (ctx.kind !== 'openai') {
      return undefined;
    }
    return {
      // Each parsed `chat.completion.chunk`; return [] to drop it or several chunks to split it.
      chunk(chunk) {
        delete chunk.obfuscation; // OpenAI's padding field: useless downstream
        return [chunk];
      },
      // A non-stream `chat.completion`.
      body(json) {
        const message = json.choices && json.choices[0] && json.choices[0].message;
        if (message && typeof message.content === 'string') {
          message.content = message.content.trimEnd();
        }
        return json;
      },
    };
  }
}

module.exports = ExampleTransformer;
