/** .dockerignore with Docker's matching rules; the dry run filters its COPY steps from the build context with it. */
import { DockerfileError } from './dockerfile-syntax';

interface IgnoreRule {
  regex: RegExp;
  exception: boolean;
}

function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i += 1;
        if (pattern[i + 1] === '/') {
          i += 1;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) {
        throw new DockerfileError(`.dockerignore: unterminated [ in "${pattern}"`);
      }
      re += `[${pattern
        .slice(i + 1, end)
        .replace(/^!/, '^')
        .replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) {
      i += 1;
      re += pattern[i].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`${re}$`);
}

/**
 * A .dockerignore matcher with Docker's rules: patterns are relative to the context root, `**` spans
 * directories, `!` re-includes, the last matching pattern wins, and a pattern that matches a directory
 * excludes everything under it.
 */
export class DockerIgnore {
  private readonly rules: IgnoreRule[];

  constructor(text: string) {
    this.rules = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => {
        const exception = l.startsWith('!');
        const cleaned = (exception ? l.slice(1) : l).trim().replace(/^\/+/, '').replace(/\/+$/, '');
        return { regex: globToRegExp(cleaned), exception };
      });
  }

  /** `relPath` is slash-separated and relative to the context root. */
  ignores(relPath: string): boolean {
    const parts = relPath.split('/').filter((p) => p !== '' && p !== '.');
    let ignored = false;
    for (const rule of this.rules) {
      // The path itself or any of its parent directories.
      let hit = false;
      for (let n = parts.length; n >= 1 && !hit; n -= 1) {
        hit = rule.regex.test(parts.slice(0, n).join('/'));
      }
      if (hit) {
        ignored = !rule.exception;
      }
    }
    return ignored;
  }
}
