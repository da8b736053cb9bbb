import { sessionIdOf } from './session';

const SESSION = '00000000-0000-4000-8000-000000000001';
const LEGACY = `user_263a4dbe41488fb87214b0032339dbb9f0c8da14c16dfcf13084bf3c2552eca5_account_7f0e7c1a-0000-4000-8000-00000000000a_session_${SESSION}`;
const JSON_FORM = JSON.stringify({ device_id: 'abc', account_uuid: '', session_id: SESSION });

const withUser = (user_id: unknown) => ({ metadata: { user_id } as { user_id?: string } });

describe('sessionIdOf', () => {
  it.each<[string, unknown, string | undefined]>([
    ['legacy user_<hash>_account_<uuid>_session_<uuid>', LEGACY, SESSION],
    ['JSON-string form (Claude Code ≥ 2.1.78)', JSON_FORM, SESSION],
    ['JSON form without session_id', JSON.stringify({ device_id: 'abc' }), undefined],
    ['JSON form with an empty session_id', JSON.stringify({ session_id: '' }), undefined],
    ['JSON form with a numeric session_id', JSON.stringify({ session_id: 42 }), undefined],
    ['truncated JSON', '{"session_id":"abc', undefined],
    ['plain garbage', 'not a session at all', undefined],
    ['legacy shape with a too-short session', 'user_x_account_y_session_ab', undefined],
    ['empty string', '', undefined],
    ['a number instead of a string', 12345, undefined],
  ])('%s', (_name, userId, expected) => {
    expect(sessionIdOf(withUser(userId), {})).toBe(expected);
  });

  it('is undefined without metadata', () => {
    expect(sessionIdOf({}, {})).toBeUndefined();
    expect(sessionIdOf({ metadata: {} }, {})).toBeUndefined();
  });

  it('prefers the x-claude-code-session-id header over metadata', () => {
    expect(sessionIdOf(withUser(JSON_FORM), { 'x-claude-code-session-id': 'from-header' })).toBe(
      'from-header',
    );
    expect(sessionIdOf({}, { 'x-claude-code-session-id': 'from-header' })).toBe('from-header');
  });

  it.each<[string, unknown]>([
    ['empty', ''],
    ['over 200 characters', 'x'.repeat(201)],
    ['repeated (array)', ['a', 'b']],
  ])('ignores a header that is %s and falls back to metadata', (_name, header) => {
    expect(sessionIdOf(withUser(JSON_FORM), { 'x-claude-code-session-id': header })).toBe(SESSION);
  });
});
