import type { AuthFailureReason } from '../kernel/index.js';
import type { BuiltinIssuer, TokenOutcome } from './builtin-issuer.js';

/** The prefix of the built-in issuer's endpoints; its issuer URL is `<gateway origin><prefix>`. */
export const AUTH_ENDPOINT_PREFIX = '/_palisade/auth';

type Action = 'login' | 'refresh' | 'logout' | 'discovery';
type Outcome =
  | { readonly kind: 'json'; readonly status: number; readonly body: unknown; readonly action: Action }
  | { readonly kind: 'denied'; readonly status: 400 | 401 | 404 | 405 | 429; readonly action: Action; readonly authFailure?: AuthFailureReason; readonly retryAfterSec?: number };

const str = (o: Record<string, unknown>, k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);

/**
 * The built-in issuer's HTTP endpoints: `POST /login` (`{username, password, totp?,
 * recoveryCode?}`), `POST /refresh` and `POST /logout` (`{refresh_token}`), and
 * `GET /.well-known/openid-configuration` and `/.well-known/jwks.json`.
 */
export function createAuthEndpoints(builtin: BuiltinIssuer): { prefix: string; handle(req: { method: string; path: string; json: unknown; clientIp: string }): Promise<Outcome> } {
  const tokens = (action: Action, out: TokenOutcome): Outcome =>
    out.ok ? { kind: 'json', status: 200, body: out.tokens, action } : { kind: 'denied', status: out.status, action, authFailure: out.reason, ...(out.retryAfterSec === undefined ? {} : { retryAfterSec: out.retryAfterSec }) };
  return {
    prefix: AUTH_ENDPOINT_PREFIX,
    async handle(req) {
      const body = (req.json ?? {}) as Record<string, unknown>;
      const expect = (method: string, action: Action): Outcome | undefined => (req.method === method ? undefined : { kind: 'denied', status: 405, action });
      switch (req.path) {
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
