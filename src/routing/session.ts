import type { CanonicalRequest } from '../protocol/types';

const LEGACY_SESSION = /_session_([0-9a-fA-F-]{8,})/;

/**
 * The Claude Code session of a request: the `x-claude-code-session-id` header (≥ 2.1.86), else
 * `metadata.user_id` in its JSON-string form (`{"session_id": …}`, ≥ 2.1.78) or the legacy
 * `user_<hash>_account_<uuid>_session_<uuid>` form.
 */
export function sessionIdOf(req: Pick<CanonicalRequest, 'metadata'>, headers: Record<string, unknown>): string | undefined {
  const header = headers['x-claude-code-session-id'];
  if (typeof header === 'string' && header.length > 0 && header.length <= 200) {
    return header;
  }
  const userId = req.metadata?.user_id;
  if (typeof userId !== 'string' || userId.length === 0) {
    return undefined;
  }
  if (userId.startsWith('{')) {
    try {
      const parsed = JSON.parse(userId) as { session_id?: unknown };
      return typeof parsed.session_id === 'string' && parsed.session_id ? parsed.session_id : undefined;
    } catch {
      return undefined;
    }
  }
  return LEGACY_SESSION.exec(userId)?.[1];
}
