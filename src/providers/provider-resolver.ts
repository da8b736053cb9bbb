/** The provider fields that identify its upstream account. */
export interface AccountOf {
  name: string;
  api_base_url: string;
  api_key?: string;
}

type Headers = Record<string, string> | undefined;

/** `scheme://host[:port]` of an absolute URL, without parsing it (the adapters' URLs are already normalised). */
function originOf(url: string): string {
  const slash = url.indexOf('/', url.indexOf('//') + 2);
  return (slash < 0 ? url : url.slice(0, slash)).toLowerCase();
}

/** The credential an adapter put on the request: x-api-key, a bearer token or Gemini's x-goog-api-key. */
function credentialOf(headers: Headers): string {
  if (!headers) {
    return '';
  }
  const bearer = headers.authorization;
  return (
    headers['x-api-key'] ??
    (bearer && /^bearer\s+/i.test(bearer) ? bearer.replace(/^bearer\s+/i, '') : undefined) ??
    headers['x-goog-api-key'] ??
    ''
  );
}

/**
 * Which configured providers an upstream request went to. Upstream rate limits belong to an account — an
 * origin and a credential — so every provider sharing both learns the same limits. When the credential is
 * not recognisable (set through provider headers), an origin used by exactly one provider still resolves.
 */
export class ProviderResolver {
  private readonly byAccount = new Map<string, string[]>();
  private readonly byOrigin = new Map<string, string[]>();

  constructor(providers: readonly AccountOf[]) {
    for (const p of providers) {
      let origin: string;
      try {
        origin = new URL(p.api_base_url).origin.toLowerCase();
      } catch {
        continue;
      }
      push(this.byAccount, `${origin}\n${p.api_key ?? ''}`, p.name);
      push(this.byOrigin, origin, p.name);
    }
  }

  resolve(url: string, headers: Headers): readonly string[] {
    const origin = originOf(url);
    const exact = this.byAccount.get(`${origin}\n${credentialOf(headers)}`);
    if (exact) {
      return exact;
    }
    const sameOrigin = this.byOrigin.get(origin);
    return sameOrigin?.length === 1 ? sameOrigin : [];
  }
}

function push(map: Map<string, string[]>, key: string, name: string): void {
  const list = map.get(key);
  if (!list) {
    map.set(key, [name]);
  } else if (!list.includes(name)) {
    list.push(name);
  }
}
