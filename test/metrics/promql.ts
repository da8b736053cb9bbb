/** Just enough PromQL and YAML reading to list the metrics a dashboard or a rule file refers to. */

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'and',
  'or',
  'unless',
  'inf',
  'nan',
  'Inf',
  'NaN',
]);

const IDENT = /[a-zA-Z_:][a-zA-Z0-9_:]*/g;

/** A metric selector in an expression: its name and the label names its matchers use. */
export interface Selector {
  name: string;
  labels: string[];
}

/** The metric selectors of a PromQL expression (functions, keywords, label lists and strings left out). */
export function selectors(expr: string): Selector[] {
  const out: Selector[] = [];
  let e = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  // Label names of matchers belong to the selector right before the brace.
  e = e.replace(
    /([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}/g,
    (_m, name: string | undefined, body: string) => {
      const labels = [...body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((m) => m[1]);
      if (name && !KEYWORDS.has(name)) {
        out.push({ name, labels });
        return ' ';
      }
      return ' ';
    },
  );
  e = e
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\b/g, ' ')
    .replace(/\boffset\s+-?[0-9a-zA-Z$_]+/g, ' ');
  for (const m of e.matchAll(IDENT)) {
    const name = m[0];
    const before = e[(m.index ?? 0) - 1];
    const rest = e.slice((m.index ?? 0) + name.length);
    if (KEYWORDS.has(name) || /^\s*\(/.test(rest) || (before !== undefined && /[0-9.]/.test(before))) {
      continue; // a function or an aggregation, a keyword, or the exponent of a number
    }
    out.push({ name, labels: [] });
  }
  return out;
}

/** Every panel `expr`, and the metric of each `label_values(metric, …)` query variable, of a dashboard. */
export function dashboardExpressions(dashboard: {
  panels?: unknown[];
  templating?: { list?: { type?: string; query?: unknown; definition?: unknown }[] };
}): string[] {
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(walk);
    } else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === 'expr' && typeof v === 'string') {
          out.push(v);
        } else {
          walk(v);
        }
      }
    }
  };
  walk(dashboard.panels ?? []);
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') {
      continue;
    }
    const q =
      typeof v.query === 'string'
        ? v.query
        : ((v.query as { query?: string } | undefined)?.query ??
          (typeof v.definition === 'string' ? v.definition : ''));
    const lv = /label_values\(\s*([^,]+),/.exec(q);
    out.push(lv ? lv[1] : q);
  }
  return out;
}

/**
 * The `expr:` values and `record:` names of a Prometheus rule file as this repository writes it (inline or
 * block scalars). The caller checks the count against the number of rules, so a style it misses shows.
 */
export function ruleFile(text: string): { exprs: string[]; records: string[]; rules: number } {
  const lines = text.split('\n');
  const exprs: string[] = [];
  const records: string[] = [];
  let rules = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const rule = /^\s*-\s+(record|alert):\s*(\S+)/.exec(line);
    if (rule) {
      rules++;
      if (rule[1] === 'record') {
        records.push(rule[2]);
      }
      continue;
    }
    const m = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (!m) {
      continue;
    }
    const value = m[2].trim();
    if (/^[|>][-+]?$/.test(value)) {
      const indent = m[1].length;
      const body: string[] = [];
      while (i + 1 < lines.length && (lines[i + 1].trim() === '' || lines[i + 1].search(/\S/) > indent)) {
        body.push(lines[++i].trim());
      }
      exprs.push(body.join(' '));
    } else {
      exprs.push(value.replace(/^(['"])(.*)\1$/, '$2'));
    }
  }
  return { exprs, records, rules };
}
