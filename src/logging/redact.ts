/** Keys whose values never reach a log line, whatever the configuration says. */
export const ALWAYS_REDACTED = ['authorization', 'x-api-key', 'api_key', 'apiKey', 'APIKEY', 'password'];

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * pino redaction paths for a list of key names: the key at the top level and up to four levels deep
 * (pino's wildcards match one level each), which covers request headers, config objects and error details.
 */
export function redactionPaths(keys: string[]): string[] {
  const paths: string[] = [];
  for (const key of new Set([...ALWAYS_REDACTED, ...keys])) {
    const plain = IDENTIFIER.test(key);
    if (plain) {
      paths.push(key);
    }
    const tail = plain ? `.${key}` : `["${key}"]`;
    for (let depth = 1; depth <= 4; depth++) {
      paths.push(`${Array<string>(depth).fill('*').join('.')}${tail}`);
    }
  }
  return paths;
}

const SECRET_QUERY = /([?&](?:key|api_key|apikey|api-key)=)[^&#]*/gi;

/** A URL for the logs: a key passed in the query (`/dashboard?key=…`) never reaches a log line. */
export function redactUrl(url: string | undefined): string | undefined {
  return url?.includes('=') ? url.replace(SECRET_QUERY, '$1[redacted]') : url;
}
