import { parseJsonBody } from './json-body';

describe('parseJsonBody', () => {
  it('parses ordinary bodies, a leading BOM too', () => {
    expect(parseJsonBody('{"a":[1,{"b":"constructor"}],"c":"\\u00e9"}')).toEqual({
      a: [1, { b: 'constructor' }],
      c: 'é',
    });
    expect(parseJsonBody('\ufeff{"a":1}')).toEqual({ a: 1 });
    expect(parseJsonBody('[1,2]')).toEqual([1, 2]);
    expect(parseJsonBody('"x"')).toBe('x');
  });

  it('refuses prototype-poisoning keys however they are spelled, at any depth', () => {
    for (const text of [
      '{"__proto__":{"admin":true}}',
      '{"a":[{"__proto__":{}}]}',
      '{"\\u005f_proto__":{"x":1}}',
      '{"m":{"constructor":{"prototype":{"x":1}}}}',
      '{"m":{"constru\\u0063tor":{"prototype":{}}}}',
    ]) {
      expect(() => parseJsonBody(text)).toThrow(SyntaxError);
    }
  });

  it('a "constructor" key without a prototype inside is data, as for Fastify', () => {
    expect(parseJsonBody('{"constructor":"x","k":{"constructor":{"name":"y"}}}')).toEqual({
      constructor: 'x',
      k: { constructor: { name: 'y' } },
    });
  });

  it('invalid JSON is a SyntaxError naming the problem', () => {
    expect(() => parseJsonBody('{"model":')).toThrow(SyntaxError);
  });
});
