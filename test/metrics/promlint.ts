/**
 * The naming rules of `promtool check metrics` (Prometheus' promlint) over a text exposition, so the e2e specs
 * hold the gateway to them without promtool installed: one problem per line, `<family> <problem>`, as promtool
 * prints them.
 */
/** promlint's units: a prefixed or non-base one (milliseconds, kilobytes, hours…) should be the base unit. */
const NON_BASE_UNIT =
  /^((pico|nano|micro|milli|centi|deci|deca|hecto|kilo|kila|mega|giga|tera|peta)(amperes|bytes|grams|joules|meters|metres|seconds|volts)|minutes|hours|days|weeks|bits|inches|yards|miles|calories|pounds|ounces|fahrenheit|rankine|kelvins)$/;
const UNIT_ABBREVIATIONS = new Set(['s', 'ms', 'us', 'ns', 'sec', 'b', 'kb', 'mb', 'gb', 'tb', 'pb', 'm', 'h', 'd']);

export function promLint(text: string): string[] {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const labelsOf = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const meta = /^# (TYPE|HELP) (\S+)(?: (.*))?$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        types.set(meta[2], meta[3] ?? '');
      } else if ((meta[3] ?? '').trim() !== '') {
        helps.add(meta[2]);
      }
      continue;
    }
    if (line === '' || line.startsWith('#')) {
      continue;
    }
    const name = /^[^{\s]+/.exec(line)?.[0] ?? '';
    const family = familyOf(name, types);
    const labels = labelsOf.get(family) ?? new Set<string>();
    for (const m of line.slice(name.length).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) {
      labels.add(m[1]);
    }
    labelsOf.set(family, labels);
  }

  const problems: string[] = [];
  for (const [name, type] of types) {
    const labels = labelsOf.get(name) ?? new Set<string>();
    const say = (problem: string): number => problems.push(`${name} ${problem}`);
    if (!helps.has(name)) {
      say('no help text');
    }
    if (type === 'counter' && !name.endsWith('_total')) {
      say('counter metrics should have "_total" suffix');
    }
    if (type !== 'counter' && name.endsWith('_total')) {
      say('non-counter metrics should not have "_total" suffix');
    }
    if (type !== 'histogram' && (name.endsWith('_bucket') || labels.has('le'))) {
      say('non-histogram metrics should not have "_bucket" suffix or "le" label');
    }
    if (type !== 'summary' && labels.has('quantile')) {
      say('non-summary metrics should not have "quantile" label');
    }
    if (type !== 'histogram' && type !== 'summary' && /_(count|sum)$/.test(name)) {
      say('non-histogram and non-summary metrics should not have "_count" or "_sum" suffix');
    }
    if (/[A-Z]/.test(name) || [...labels].some((l) => /[a-z][A-Z]/.test(l))) {
      say('metric names and label names should be written in "snake_case" not "camelCase"');
    }
    const tokens = name.split('_');
    const unit = tokens.find((t) => NON_BASE_UNIT.test(t));
    if (unit) {
      say(`use base unit instead of "${unit}"`);
    }
    if (tokens.some((t) => UNIT_ABBREVIATIONS.has(t))) {
      say('metric names should not contain abbreviated units');
    }
  }
  return problems;
}

/** The family a sample belongs to: its own name, or the histogram / summary its suffix points at. */
function familyOf(sample: string, types: Map<string, string>): string {
  if (types.has(sample)) {
    return sample;
  }
  const base = sample.replace(/_(bucket|sum|count)$/, '');
  return types.has(base) ? base : sample;
}
