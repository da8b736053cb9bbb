/**
 * Request bodies are parsed with plain `JSON.parse`, then refused when they carry a prototype-poisoning key
 * (`"__proto__"`, or `"constructor"` holding a `"prototype"`), as Fastify's default parser refuses them.
 * The keys are looked for only when the text could hold one (the words themselves, or a `\u` escape that
 * could spell them): a Claude Code body (~75 KB) holds neither, and skips the scan that Fastify's parser
 * (secure-json-parse: two regular expressions over the whole text) runs on every body.
 */
export function parseJsonBody(text: string): unknown {
  const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const value: unknown = JSON.parse(json);
  if (
    typeof value === 'object' &&
    value !== null &&
    (json.includes('__proto__') || json.includes('constructor') || json.includes('\\u')) &&
    hasPoisonKey(value)
  ) {
    throw new SyntaxError('the body holds a forbidden "__proto__" or "constructor.prototype" key');
  }
  return value;
}

const own = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

function hasPoisonKey(root: object): boolean {
  const stack: object[] = [root];
  while (stack.length > 0) {
    const node = stack.pop() as Record<string, unknown>;
    if (own(node, '__proto__')) {
      return true;
    }
    const ctor = own(node, 'constructor') ? node.constructor : undefined;
    if (typeof ctor === 'object' && ctor !== null && own(ctor, 'prototype')) {
      return true;
    }
    for (const key in node) {
      const child = node[key];
      if (typeof child === 'object' && child !== null) {
        stack.push(child);
      }
    }
  }
  return false;
}
