import { PalisadeError, type Clock } from '../kernel/index.js';
import type { CertificateRevocation, CertificateRevocationStore, RefreshTokenStore, RevocationStore, UserStore } from '../store/index.js';

/** What `palisade tokens revoke` revokes: one token id, every token of a built-in user, or every token. */
export type TokenRevocationTarget = { readonly jti: string } | { readonly username: string } | { readonly all: true };

/** The stores token revocation needs. */
export interface TokenRevocationStores {
  readonly revocations: RevocationStore;
  readonly users: UserStore;
  readonly refreshTokens: RefreshTokenStore;
}

/** What a revocation did, for the CLI to print. */
export interface TokenRevocationReport {
  readonly target: 'jti' | 'user' | 'all';
  /** Refresh tokens revoked with it. */
  readonly refreshTokens: number;
  /** Access-token ids put on the revocation list. */
  readonly accessTokens: number;
}

/** A revoked `jti` is kept this long: the longest token lifetime any issuer may be configured with. */
const MAX_TOKEN_LIFETIME_MS = 7 * 86_400_000;
const JTI = /^[\x21-\x7e]{1,256}$/;

/**
 * Revokes tokens; running nodes refuse them within one revocation poll (250 ms).
 * - `jti`: one access token of any issuer, until it would have expired anyway;
 * - `username`: every token of a built-in user (their token epoch moves, their refresh tokens die);
 * - `all`: every token of every issuer issued before now (the "issued before" cut-off), and every refresh token.
 *
 * @example
 * ```ts
 * await revokeTokens(store, { jti: '6c1f…' }, clock);
 * ```
 */
export async function revokeTokens(stores: TokenRevocationStores, target: TokenRevocationTarget, clock: Clock): Promise<TokenRevocationReport> {
  const now = clock.now();
  if ('jti' in target) {
    if (!JTI.test(target.jti)) throw new PalisadeError('PAL_CLI_USAGE', 'a token id is 1 to 256 printable characters');
    await stores.revocations.revoke(target.jti, now + MAX_TOKEN_LIFETIME_MS);
    return { target: 'jti', refreshTokens: 0, accessTokens: 1 };
  }
  const users = 'username' in target ? [await stores.users.findByUsername(target.username)] : await stores.users.list();
  if ('username' in target && users[0] === undefined) throw new PalisadeError('PAL_IDENTITY_USER_NOT_FOUND', `no user \`${target.username}\``);
  if ('all' in target) await stores.revocations.revokeIssuedBefore(now);
  let refresh = 0;
  let access = 0;
  for (const user of users) {
    if (user === undefined) continue;
    // Moving the epoch voids every access token of the user, whatever its jti.
    await stores.users.update(user.id, { tokenEpoch: user.tokenEpoch + 1 });
    const refs = await stores.refreshTokens.revokeUser(user.id, now);
    refresh += refs.length;
    for (const r of refs) {
      if (r.expiresAt <= now) continue;
      await stores.revocations.revoke(r.jti, r.expiresAt);
      access++;
    }
  }
  return { target: 'username' in target ? 'user' : 'all', refreshTokens: refresh, accessTokens: access };
}

/**
 * Revokes a client certificate by SHA-256 fingerprint or by issuer and serial; running nodes
 * refuse it within one revocation poll.
 *
 * @example
 * ```ts
 * await revokeCertificate(store.certificateRevocations, { fingerprint256: 'AB:CD:…' }, clock);
 * ```
 */
export async function revokeCertificate(store: CertificateRevocationStore, entry: CertificateRevocation, clock: Clock): Promise<void> {
  if (entry.fingerprint256 !== undefined && !/^([0-9A-Fa-f]{2}:?){32}$/.test(entry.fingerprint256)) throw new PalisadeError('PAL_CLI_USAGE', 'a sha-256 fingerprint is 32 hex bytes, such as `AB:CD:…`');
  if (entry.serial !== undefined && !/^([0-9A-Fa-f]{1,2}:?){1,40}$/.test(entry.serial)) throw new PalisadeError('PAL_CLI_USAGE', 'a serial number is hex, such as `0A:1B:2C`');
  if (entry.issuer !== undefined && (entry.issuer.length === 0 || entry.issuer.length > 1024)) throw new PalisadeError('PAL_CLI_USAGE', 'an issuer is a distinguished name such as `O=Example,CN=Client CA`');
  const issuer = entry.issuer?.split(/\s*,\s*/).join(',');
  await store.revoke(issuer === undefined ? entry : { issuer, serial: entry.serial as string }, clock.now());
}
