/**
 * The Dockerfile's lexical layer: logical lines, words, flags, exec/shell forms, durations and variable
 * substitution, as the BuildKit frontend reads them (the subset docker/Dockerfile needs).
 */

export class DockerfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DockerfileError';
  }
}

/** Shell form (run by /bin/sh -c) or exec form (argv, no shell). */
export type CommandForm = { shell: string } | { exec: string[] };

interface LogicalLine {
  line: number;
  text: string;
}

/** Joins `\` continuations and drops comments (also inside a continuation, as BuildKit does). */
export function logicalLines(text: string): LogicalLine[] {
  const raw = text.split(/\r?\n/);
  const out: LogicalLine[] = [];
  let directivesOpen = true;
  let current: LogicalLine | undefined;
  raw.forEach((rawLine, i) => {
    const trimmed = rawLine.trim();
    if (directivesOpen && !current) {
      const directive = /^#\s*([a-zA-Z]+)\s*=\s*(.*)$/.exec(trimmed);
      if (directive) {
        if (directive[1].toLowerCase() === 'escape' && directive[2].trim() !== '\\') {
          throw new DockerfileError(`line ${i + 1}: escape directive "${directive[2]}" is not supported`);
        }
        return;
      }
      directivesOpen = false;
    }
    if (trimmed.startsWith('#') || (current && trimmed === '')) {
      return;
    }
    if (trimmed === '' && !current) {
      return;
    }
    const continues = /\\\s*$/.test(rawLine);
    const piece = continues ? rawLine.replace(/\\\s*$/, '') : rawLine;
    if (current) {
      current.text += ` ${piece.trim()}`;
    } else {
      current = { line: i + 1, text: piece.trim() };
    }
    if (!continues) {
      out.push(current);
      current = undefined;
    }
  });
  if (current) {
    throw new DockerfileError(`line ${current.line}: the file ends inside a line continuation`);
  }
  return out;
}

/** Splits words the way the Dockerfile frontend does for ENV / LABEL: quotes group, backslash escapes. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quote) {
      if (c === quote) {
        quote = undefined;
      } else if (c === '\\' && quote === '"' && i + 1 < text.length) {
        i += 1;
        word += text[i];
      } else {
        word += c;
      }
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      i += 1;
      word += text[i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) {
        words.push(word);
        word = '';
        inWord = false;
      }
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) {
    throw new DockerfileError(`unterminated ${quote} quote in: ${text}`);
  }
  if (inWord) {
    words.push(word);
  }
  return words;
}

export function parseCommand(args: string, line: number): CommandForm {
  const trimmed = args.trim();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      parsed = undefined;
    }
    if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((p) => typeof p === 'string')) {
      return { exec: parsed };
    }
  }
  if (trimmed === '') {
    throw new DockerfileError(`line ${line}: empty command`);
  }
  return { shell: trimmed };
}

/** Leading `--flag=value` / `--flag` options of an instruction; the rest is returned untouched. */
export function takeFlags(args: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let rest = args.trim();
  for (;;) {
    const m = /^(--[a-z-]+(?:=(?:"[^"]*"|\S*))?)\s*/.exec(rest);
    if (!m) {
      return { flags, rest };
    }
    flags.push(m[1]);
    rest = rest.slice(m[0].length);
  }
}

/** Docker durations: `30s`, `1m30s`, `500ms`, `1h`. */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text;
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!m) {
      throw new DockerfileError(`invalid duration "${text}"`);
    }
    total += Number(m[1]) * units[m[2]];
    rest = rest.slice(m[0].length);
  }
  return total;
}

export function keyValueOptions(spec: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    out.set(eq < 0 ? part : part.slice(0, eq), eq < 0 ? 'true' : part.slice(eq + 1));
  }
  return out;
}

/** Docker's variable substitution for ENV, WORKDIR, COPY, USER, …: `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR:+word}`. */
export function expandVariables(text: string, env: Record<string, string>): string {
  return text.replace(
    /\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (
      match,
      braced: string | undefined,
      op: string | undefined,
      word: string | undefined,
      bare: string | undefined,
    ) => {
      if (match === '\\$') {
        return '$';
      }
      const value = env[(braced ?? bare) as string];
      if (op === ':-') {
        return value ? value : (word ?? '');
      }
      if (op === ':+') {
        return value ? (word ?? '') : '';
      }
      return value ?? '';
    },
  );
}
