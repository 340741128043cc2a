import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { PalisadeError, systemClock, type AuthFailureReason, type Clock } from '../kernel/index.js';
import { AUTH_ENDPOINT_PREFIX, verifyAccessToken } from '../identity/index.js';

/** Where `palisade login` keeps its tokens: `$PALISADE_HOME/credentials.json`, mode 0600. */
export function credentialsPath(): string {
  return join(process.env.PALISADE_HOME ?? join(homedir(), '.palisade'), 'credentials.json');
}

/** What `palisade login` stores. */
export interface StoredCredentials {
  readonly url: string;
  readonly issuer: string;
  readonly username: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresAt: string;
}

function httpsJson(url: string, ca: string | undefined, method: 'GET' | 'POST', body?: unknown): Promise<{ status: number; json: unknown }> {
  const u = new URL(url);
  if (u.protocol !== 'https:') return Promise.reject(new PalisadeError('PAL_CLI_USAGE', `\`${url}\` is not an https url`));
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(u, { method, ...(ca === undefined ? {} : { ca }), headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error) => reject(new PalisadeError('PAL_GATEWAY_LISTEN_FAILED', `cannot reach \`${u.origin}\` (${(error as NodeJS.ErrnoException).code ?? error.message})`, { cause: error, expose: true })));
    req.end(payload);
  });
}

/**
 * Logs in to a gateway's built-in issuer and stores the tokens with mode 0600.
 * Throws `PAL_IDENTITY_LOGIN_FAILED` (exit 2) when refused.
 */
export async function loginToGateway(input: { url: string; ca?: string; username: string; password: string; totp?: string; recoveryCode?: string }, clock: Clock = systemClock): Promise<StoredCredentials> {
  const base = input.url.replace(/\/$/, '');
  const { status, json } = await httpsJson(`${base}${AUTH_ENDPOINT_PREFIX}/login`, input.ca, 'POST', { username: input.username, password: input.password, ...(input.totp === undefined ? {} : { totp: input.totp }), ...(input.recoveryCode === undefined ? {} : { recoveryCode: input.recoveryCode }) });
  if (status === 429) throw new PalisadeError('PAL_IDENTITY_THROTTLED', 'too many failed attempts; retry later');
  const t = json as { access_token?: string; refresh_token?: string; expires_in?: number } | undefined;
  if (status !== 200 || typeof t?.access_token !== 'string' || typeof t.refresh_token !== 'string') throw new PalisadeError('PAL_IDENTITY_LOGIN_FAILED', 'login refused (check username, password and the current code)');
  const credentials: StoredCredentials = { url: base, issuer: `${base}${AUTH_ENDPOINT_PREFIX}`, username: input.username, accessToken: t.access_token, refreshToken: t.refresh_token, expiresAt: new Date(clock.now() + (t.expires_in ?? 0) * 1000).toISOString() };
  const path = credentialsPath();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return credentials;
}

/** Reads the credentials `palisade login` stored. */
export function readStoredCredentials(): StoredCredentials | undefined {
  try {
    return JSON.parse(readFileSync(credentialsPath(), 'utf8')) as StoredCredentials;
  } catch {
    return undefined;
  }
}

/** What `palisade token inspect` reports: the header, the claims and the verdict; never the token. */
export interface TokenReport {
  readonly valid: boolean;
  readonly reason?: AuthFailureReason;
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
  readonly expiresIn?: string;
}

/**
 * Decodes a token and verifies it against an explicit issuer (its discovery document and keys
 * are fetched over https with `ca`). The issuer is never taken from the token under test.
 */
export async function inspectToken(token: string, options: { issuer: string; audience: string; ca?: string }, clock: Clock = systemClock): Promise<TokenReport> {
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = { ...decodeProtectedHeader(token) };
    claims = { ...decodeJwt(token) };
  } catch {
    throw new PalisadeError('PAL_CLI_USAGE', 'that is not a JWT');
  }
  const discovery = await httpsJson(`${options.issuer}/.well-known/openid-configuration`, options.ca, 'GET');
  const jwksUri = (discovery.json as { issuer?: string; jwks_uri?: string } | undefined)?.jwks_uri;
  if (discovery.status !== 200 || (discovery.json as { issuer?: string }).issuer !== options.issuer || typeof jwksUri !== 'string') {
    throw new PalisadeError('PAL_CLI_USAGE', `\`${options.issuer}\` publishes no usable discovery document`);
  }
  const jwks = await httpsJson(jwksUri, options.ca, 'GET');
  const v = await verifyAccessToken(token, { expectedIssuer: options.issuer, expectedAudience: options.audience, algorithms: ['EdDSA', 'ES256', 'ES384', 'RS256', 'PS256'], keys: createLocalJWKSet(jwks.json as JSONWebKeySet), clockSkewSec: 30, maxTokenBytes: 16384, maxLifetimeSec: 86_400, typ: 'at+jwt', requiredClaims: [], now: clock.now() });
  const exp = typeof claims.exp === 'number' ? claims.exp * 1000 - clock.now() : undefined;
  return { valid: v.ok, ...(v.ok ? {} : { reason: v.reason }), header, claims, ...(exp === undefined ? {} : { expiresIn: exp > 0 ? `${Math.round(exp / 1000)} s` : 'expired' }) };
}
