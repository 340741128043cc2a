/** A deployment as recorded when `palisade up` starts serving a manifest. */
export interface DeploymentRecord {
  readonly id: number;
  /** SHA-256 of the manifest text, hex. */
  readonly manifestDigest: string;
  readonly functions: readonly string[];
  readonly startedAt: number;
}

/** Records which manifest was served when. */
export interface DeploymentStore {
  recordDeployment(input: Omit<DeploymentRecord, 'id'>): Promise<DeploymentRecord>;
  listDeployments(limit: number): Promise<readonly DeploymentRecord[]>;
}

/** An API key as stored: never the key itself, only a digest of its secret part. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string;
  /** SHA-256 of the secret part, hex. */
  readonly secretDigest: string;
  readonly roles: readonly string[];
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly lastUsedAt: number | null;
  readonly revokedAt: number | null;
}

/** API keys for machines. */
export interface ApiKeyStore {
  insert(record: Omit<ApiKeyRecord, 'lastUsedAt' | 'revokedAt'>): Promise<void>;
  find(id: string): Promise<ApiKeyRecord | undefined>;
  list(): Promise<readonly ApiKeyRecord[]>;
  /** Marks the key revoked; false when no such key or already revoked. */
  revoke(id: string, at: number): Promise<boolean>;
  touch(id: string, at: number): Promise<void>;
}

/** Revoked token ids (`jti`), kept until the token would have expired anyway. */
export interface RevocationStore {
  /** Revokes one token id; idempotent (`INSERT … ON CONFLICT DO UPDATE`). */
  revoke(jti: string, expiresAt: number): Promise<void>;
  /** Every revocation still in force at `now`. A pure read: pruning is {@link prune}'s job. */
  listActive(now: number): Promise<readonly string[]>;
  /** Deletes revocations whose tokens have expired by `now`; run off the request path. */
  prune(now: number): Promise<number>;
  /** Revokes every token issued (`iat`) before `at`, from any issuer; only ever moves forward. */
  revokeIssuedBefore(at: number): Promise<void>;
  /** The cut-off set by {@link revokeIssuedBefore}, in ms since the epoch; 0 when none. */
  issuedBefore(): Promise<number>;
  /** A value that changes whenever revocations may have changed, from this or another process. */
  changeCounter(): string;
}

/** A revoked client certificate: by SHA-256 fingerprint, or by issuer and serial number. */
export type CertificateRevocation =
  | { readonly fingerprint256: string; readonly issuer?: undefined; readonly serial?: undefined }
  | { readonly fingerprint256?: undefined; readonly issuer: string; readonly serial: string };

/** Client certificates revoked by the operator (besides CRL files named in the manifest). */
export interface CertificateRevocationStore {
  /** Revokes a certificate; idempotent. Fingerprints and serials are stored normalised (upper-case hex, no separators). */
  revoke(entry: CertificateRevocation, at: number): Promise<void>;
  list(): Promise<ReadonlyArray<CertificateRevocation & { readonly revokedAt: number }>>;
}

/** What counting a login attempt decided. */
export interface LoginAttemptCount {
  /** False when the attempt must be refused without checking the password. */
  readonly admitted: boolean;
  /** Attempts counted so far in this lock period, this one included. */
  readonly failures: number;
  readonly lockedUntil: number | null;
}

/** What counting an attempt from an address decided. */
export interface AddressAttemptCount {
  readonly admitted: boolean;
  /** When refused, how long until the next attempt is admitted. */
  readonly retryAfterMs: number;
}

/**
 * Per-address backoff of logins: after `freeAttempts` within `windowMs`, the address must wait
 * 2^(n - free) seconds (capped at `maxDelayMs`) after its last admitted attempt.
 */
export interface LoginThrottleStore {
  /**
   * Counts one attempt from `address` at `at` and decides, in one atomic operation, whether it is
   * admitted. A refused attempt does not move the window.
   */
  countAttempt(address: string, at: number, policy: { readonly freeAttempts: number; readonly windowMs: number; readonly maxDelayMs: number }): Promise<AddressAttemptCount>;
  /** Forgets an address (after a successful login). */
  clear(address: string): Promise<void>;
  /** Deletes entries idle since before `before`; run off the request path. */
  prune(before: number): Promise<number>;
}

/** A built-in user. The password is an argon2id hash; the TOTP secret is base32. */
export interface UserRecord {
  readonly id: string;
  readonly username: string;
  readonly passwordHash: string;
  readonly roles: readonly string[];
  readonly createdAt: number;
  readonly disabledAt: number | null;
  readonly totpSecret: string | null;
  /** The last TOTP time step accepted: a code is never accepted twice (RFC 6238 section 5.2). */
  readonly totpLastStep: number;
  /** Bumped on disable, password change or MFA reset: tokens issued before are void. */
  readonly tokenEpoch: number;
}

/** Built-in users and their one-time recovery codes. */
export interface UserStore {
  insert(record: Pick<UserRecord, 'id' | 'username' | 'passwordHash' | 'roles' | 'createdAt'>): Promise<void>;
  findByUsername(username: string): Promise<UserRecord | undefined>;
  findById(id: string): Promise<UserRecord | undefined>;
  list(): Promise<readonly UserRecord[]>;
  update(id: string, fields: Partial<Pick<UserRecord, 'passwordHash' | 'roles' | 'disabledAt' | 'totpSecret' | 'totpLastStep' | 'tokenEpoch'>>): Promise<void>;
  replaceRecoveryCodes(userId: string, digests: readonly string[]): Promise<void>;
  /** Marks a recovery code used; false when unknown or already used. */
  consumeRecoveryCode(userId: string, digest: string, at: number): Promise<boolean>;
  /**
   * Failed logins by username, whether or not such a user exists, so that a refusal costs the
   * same and locks the same for every name (no user enumeration through timing or lockout).
   */
  loginFailures(username: string): Promise<{ readonly failures: number; readonly lockedUntil: number | null } | undefined>;
  /**
   * Counts a login attempt for `username` before its password is checked, and decides in one
   * atomic operation whether it is admitted: the first `maxFailures` attempts of a lock period
   * are, the one that reaches the limit locks the name for `lockMs`, every later one is refused.
   * A lock that has run out starts a new period. A successful login clears the count.
   */
  countLoginAttempt(username: string, at: number, policy: { readonly maxFailures: number; readonly lockMs: number }): Promise<LoginAttemptCount>;
  clearLoginFailures(username: string): Promise<void>;
  /** Deletes failure records idle since before `before` and not locked at `before`; off the request path. */
  pruneLoginFailures(before: number): Promise<number>;
  /**
   * Compare-and-set of the last accepted TOTP step: true only when `step` is above the stored
   * one (RFC 6238 section 5.2: a code is accepted once, even by concurrent logins).
   */
  advanceTotpStep(userId: string, step: number): Promise<boolean>;
}

/** A refresh token as stored: its digest, its family, and whether it was spent. */
export interface RefreshTokenRecord {
  readonly digest: string;
  readonly familyId: string;
  readonly userId: string;
  readonly expiresAt: number;
  readonly usedAt: number | null;
  readonly revokedAt: number | null;
  readonly amr: readonly string[];
  readonly authTime: number;
  /** The `jti` of the access token issued with this refresh token, revoked with its family. */
  readonly accessJti: string | null;
  readonly accessExpiresAt: number | null;
}

/** An access token to revoke: its `jti` and when it expires anyway. */
export interface AccessTokenRef {
  readonly jti: string;
  readonly expiresAt: number;
}

/** Opaque refresh tokens, rotated on every use. */
export interface RefreshTokenStore {
  /** Stores a token; false (nothing stored) when its family was revoked, in the same atomic operation. */
  insert(record: Omit<RefreshTokenRecord, 'usedAt' | 'revokedAt'>): Promise<boolean>;
  find(digest: string): Promise<RefreshTokenRecord | undefined>;
  /** Marks the token spent in one atomic operation; false when it was already spent or revoked (a reuse). */
  spend(digest: string, at: number): Promise<boolean>;
  /** Revokes a family; returns the access tokens issued with it that may still be live. */
  revokeFamily(familyId: string, at: number): Promise<readonly AccessTokenRef[]>;
  /** Revokes every refresh token of a user; returns the access tokens issued with them. */
  revokeUser(userId: string, at: number): Promise<readonly AccessTokenRef[]>;
}

/** Signing keys of the built-in issuer (private JWKs). */
export interface SigningKeyRecord {
  readonly kid: string;
  readonly privateJwk: string;
  readonly publicJwk: string;
  readonly createdAt: number;
  readonly retiredAt: number | null;
}

/** Signing keys, newest first. */
export interface SigningKeyStore {
  insert(record: Omit<SigningKeyRecord, 'retiredAt'>): Promise<void>;
  list(): Promise<readonly SigningKeyRecord[]>;
  retire(kid: string, at: number): Promise<void>;
}

/** The state store: every port a node needs, behind one handle. */
export interface StateStore {
  readonly deployments: DeploymentStore;
  readonly apiKeys: ApiKeyStore;
  readonly revocations: RevocationStore;
  readonly certificateRevocations: CertificateRevocationStore;
  readonly loginThrottle: LoginThrottleStore;
  readonly users: UserStore;
  readonly refreshTokens: RefreshTokenStore;
  readonly signingKeys: SigningKeyStore;
  /** The schema version after migrations ran. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}
