import type { AuthFailureReason } from '../kernel/index.js';
import type { BuiltinIssuer, TokenOutcome } from './builtin-issuer.js';

/** The prefix of the built-in issuer's endpoints; its issuer URL is `<gateway origin><prefix>`. */
export const AUTH_ENDPOINT_PREFIX = '/_palisade/auth';

type Action = 'login' | 'refresh' | 'logout' | 'discovery';
type Outcome =
  | { readonly kind: 'json'; readonly status: number; readonly body: unknown; readonly action: Action }
  | { readonly kind: 'denied'; readonly status: 400 | 401 | 404 | 405 | 429; readonly action: Action; readonly authFailure?: AuthFailureReason; readonly retryAfterSec?: number }
  | { readonly kind: 'oauth-error'; readonly status: 400 | 401 | 429; readonly error: OAuthErrorCode; readonly action: Action; readonly authFailure?: AuthFailureReason; readonly retryAfterSec?: number };

/** RFC 6749 section 5.2 error codes the token endpoint uses (`slow_down`: RFC 8628 section 3.5). */
type OAuthErrorCode = 'invalid_request' | 'invalid_grant' | 'unsupported_grant_type' | 'slow_down';

const str = (o: Record<string, unknown>, k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);

/**
 * The built-in issuer's HTTP endpoints: the standard token endpoint `POST /token` (RFC 6749:
 * form-encoded, `grant_type=password` with the extension parameter `totp` or `recovery_code`,
 * and `grant_type=refresh_token`; errors as RFC 6749 section 5.2 JSON), the JSON endpoints the
 * CLI uses, `POST /login` (`{username, password, totp?, recoveryCode?}`), `POST /refresh` and
 * `POST /logout` (`{refresh_token}`), and `GET /.well-known/openid-configuration` and
 * `/.well-known/jwks.json`.
 */
export function createAuthEndpoints(builtin: BuiltinIssuer): { prefix: string; handle(req: { method: string; path: string; json: unknown; form?: Readonly<Record<string, string>>; clientIp: string }): Promise<Outcome> } {
  const tokens = (action: Action, out: TokenOutcome): Outcome =>
    out.ok ? { kind: 'json', status: 200, body: out.tokens, action } : { kind: 'denied', status: out.status, action, authFailure: out.reason, ...(out.retryAfterSec === undefined ? {} : { retryAfterSec: out.retryAfterSec }) };
  const oauthError = (action: Action, error: OAuthErrorCode, status: 400 | 429 = 400, authFailure?: AuthFailureReason, retryAfterSec?: number): Outcome => ({
    kind: 'oauth-error',
    status,
    error,
    action,
    ...(authFailure === undefined ? {} : { authFailure }),
    ...(retryAfterSec === undefined ? {} : { retryAfterSec }),
  });
  // RFC 6749 section 5.2: every refused grant is `invalid_grant`, whatever the reason (which the
  // operator sees); a throttled one is 429 `slow_down` with `retry-after`.
  const grant = (action: Action, out: TokenOutcome): Outcome => {
    if (out.ok) return { kind: 'json', status: 200, body: out.tokens, action };
    if (out.status === 429) return oauthError(action, 'slow_down', 429, out.reason, out.retryAfterSec ?? 1);
    return oauthError(action, 'invalid_grant', 400, out.reason);
  };
  return {
    prefix: AUTH_ENDPOINT_PREFIX,
    async handle(req) {
      const body = (req.json ?? {}) as Record<string, unknown>;
      const expect = (method: string, action: Action): Outcome | undefined => (req.method === method ? undefined : { kind: 'denied', status: 405, action });
      switch (req.path) {
        case '/token': {
          const form = req.form;
          if (req.method !== 'POST') return { kind: 'denied', status: 405, action: 'login' };
          if (form === undefined) return oauthError('login', 'invalid_request');
          switch (form.grant_type) {
            case 'password': {
              const { username, password } = form;
              if (username === undefined || password === undefined) return oauthError('login', 'invalid_request');
              // Extension parameters (RFC 6749 section 8.2): `totp` for the current code, `recovery_code` for a one-time code.
              return grant('login', await builtin.login({ username, password, ...(form.totp === undefined ? {} : { totp: form.totp }), ...(form.recovery_code === undefined ? {} : { recoveryCode: form.recovery_code }) }, req.clientIp));
            }
            case 'refresh_token': {
              if (form.refresh_token === undefined) return oauthError('refresh', 'invalid_request');
              return grant('refresh', await builtin.refresh(form.refresh_token));
            }
            case undefined:
              return oauthError('login', 'invalid_request');
            default:
              return oauthError('login', 'unsupported_grant_type');
          }
        }
        case '/login': {
          const wrong = expect('POST', 'login');
          if (wrong !== undefined) return wrong;
          const username = str(body, 'username');
          const password = str(body, 'password');
          if (username === undefined || password === undefined) return { kind: 'denied', status: 400, action: 'login' };
          const totp = str(body, 'totp');
          const recoveryCode = str(body, 'recoveryCode');
          return tokens('login', await builtin.login({ username, password, ...(totp === undefined ? {} : { totp }), ...(recoveryCode === undefined ? {} : { recoveryCode }) }, req.clientIp));
        }
        case '/refresh': {
          const wrong = expect('POST', 'refresh');
          if (wrong !== undefined) return wrong;
          const token = str(body, 'refresh_token');
          if (token === undefined) return { kind: 'denied', status: 400, action: 'refresh' };
          return tokens('refresh', await builtin.refresh(token));
        }
        case '/logout': {
          const wrong = expect('POST', 'logout');
          if (wrong !== undefined) return wrong;
          const token = str(body, 'refresh_token');
          if (token === undefined) return { kind: 'denied', status: 400, action: 'logout' };
          // Same answer whether or not the token was known: logout reveals nothing.
          await builtin.logout(token);
          return { kind: 'json', status: 200, body: { ok: true }, action: 'logout' };
        }
        case '/.well-known/openid-configuration':
          return expect('GET', 'discovery') ?? { kind: 'json', status: 200, body: builtin.discovery(), action: 'discovery' };
        case '/.well-known/jwks.json':
          return expect('GET', 'discovery') ?? { kind: 'json', status: 200, body: await builtin.jwks(), action: 'discovery' };
        default:
          return { kind: 'denied', status: 404, action: 'discovery' };
      }
    },
  };
}
