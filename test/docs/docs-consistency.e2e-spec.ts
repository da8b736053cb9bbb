import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The reference docs are kept true to the code: every HTTP route is in docs/api.md, every configuration key
 * of config/default.json is in docs/configuration.md, and every module folder is in docs/architecture.md.
 */
const root = join(__dirname, '..', '..');
const read = (file: string): string => readFileSync(join(root, file), 'utf8');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      return sourceFiles(path);
    }
    return name.endsWith('.ts') && !name.endsWith('.spec.ts') ? [path] : [];
  });
}

interface Route {
  method: string;
  path: string;
  file: string;
}

const DECORATOR = /@(Controller|Get|Post|Put|Delete|Patch)\((?:'([^']*)')?\)/g;

/** Routes as the Nest decorators declare them (`@Controller('api/cache')` + `@Get('stats')` → GET /api/cache/stats). */
function declaredRoutes(): Route[] {
  const routes: Route[] = [];
  for (const file of sourceFiles(join(root, 'src'))) {
    const text = readFileSync(file, 'utf8');
    let prefix: string | undefined;
    for (const match of text.matchAll(DECORATOR)) {
      const [, kind, arg = ''] = match;
      if (kind === 'Controller') {
        prefix = arg;
        continue;
      }
      if (prefix === undefined) {
        continue;
      }
      const path = `/${[prefix, arg].filter(Boolean).join('/')}`;
      routes.push({ method: kind.toUpperCase(), path, file: relative(root, file) });
    }
  }
  return routes;
}

/** `a.b.c` for every key of a JSON object, arrays and free-form maps left whole. */
function keyPaths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [prefix];
  }
  const entries = Object.entries(value);
  if (entries.length === 0) {
    return [prefix];
  }
  return entries.flatMap(([key, child]) => [[...prefix, key], ...keyPaths(child, [...prefix, key]).filter((p) => p.length > prefix.length + 1)]);
}

/** The text of `### \`Section\`` in docs/configuration.md, up to the next heading of the same or higher level. */
function sectionText(doc: string, section: string): string | undefined {
  const start = doc.indexOf(`### \`${section}\``);
  if (start < 0) {
    return undefined;
  }
  const rest = doc.slice(start + 4);
  const end = rest.search(/\n#{2,3} /);
  return end < 0 ? rest : rest.slice(0, end);
}

describe('reference docs match the code', () => {
  it('docs/api.md lists every HTTP route with its method', () => {
    const api = read('docs/api.md');
    const routes = declaredRoutes();
    expect(routes.length).toBeGreaterThan(30);
    const missing = routes.filter((r) => !api.includes(`${r.method} ${r.path}`)).map((r) => `${r.method} ${r.path} (${r.file})`);
    expect(missing).toEqual([]);
  });

  it('docs/configuration.md documents every section and key of config/default.json', () => {
    const doc = read('docs/configuration.md');
    const defaults = JSON.parse(read('config/default.json')) as Record<string, unknown>;
    const missing: string[] = [];
    for (const [section, value] of Object.entries(defaults)) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        if (!doc.includes(`\`${section}\``)) {
          missing.push(section);
        }
        continue;
      }
      // CCR's own objects (Router) are in the top-level key table; the seed's sections have a heading each.
      const text = sectionText(doc, section) ?? (doc.includes(`\`${section}\``) ? doc : undefined);
      if (text === undefined) {
        missing.push(`### \`${section}\``);
        continue;
      }
      for (const path of keyPaths(value)) {
        const key = path[path.length - 1];
        if (!new RegExp(`\\b${key}\\b`).test(text)) {
          missing.push(`${section}.${path.join('.')}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('docs/architecture.md maps every module folder of src/', () => {
    const doc = read('docs/architecture.md');
    const folders = readdirSync(join(root, 'src')).filter((name) => statSync(join(root, 'src', name)).isDirectory());
    expect(folders.filter((name) => !doc.includes(`\`src/${name}\``))).toEqual([]);
  });
});
