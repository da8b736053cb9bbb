import JSON5 from 'json5';

function isObjectJson(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

/** Closes unterminated strings, arrays and objects left by a truncated or sloppy model output. */
function balance(text: string): string {
  const stack: string[] = [];
  let inString = false;
  let escaped = false;
  for (const ch of text) {
    if (inString) {
      if (escaped) {
        escaped = false;
      } else if (ch === '\\') {
        escaped = true;
      } else if (ch === '"') {
        inString = false;
      }
      continue;
    }
    if (ch === '"') {
      inString = true;
    } else if (ch === '{') {
      stack.push('}');
    } else if (ch === '[') {
      stack.push(']');
    } else if ((ch === '}' || ch === ']') && stack[stack.length - 1] === ch) {
      stack.pop();
    }
  }
  let out = text;
  if (inString) {
    out += '"';
  }
  out = out.replace(/,\s*$/, '');
  return out + stack.reverse().join('');
}

/**
 * Tolerant tool-argument parsing (CCR `enhancetool`): models behind OpenAI-compatible APIs emit arguments
 * with code fences, single quotes, trailing commas or a missing closing brace. Returns a JSON object
 * string; anything unrecoverable becomes `{}` so the client gets a tool call it can at least validate
 * (an unparsable string would crash its accumulator).
 */
export function repairToolArguments(raw: string | null | undefined): string {
  const text = (raw ?? '').trim();
  if (text === '') {
    return '{}';
  }
  if (isObjectJson(text)) {
    return text;
  }
  const unfenced = text
    .replace(/^```(?:json)?\s*/i, '')
    .replace(/\s*```$/, '')
    .trim();
  const candidates = [unfenced, balance(unfenced), balance(unfenced.replace(/,\s*([}\]])/g, '$1'))];
  for (const candidate of candidates) {
    try {
      const v: unknown = JSON5.parse(candidate);
      if (typeof v === 'string' && isObjectJson(v)) {
        return v; // double-encoded arguments
      }
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
        return JSON.stringify(v);
      }
    } catch {
      // try the next, more aggressive repair
    }
  }
  return '{}';
}
