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
  /** Compare-and-set of the stored TOTP secret (sealing it in place); false when it was not `expected`. */
  replaceTotpSecret(userId: string, expected: string, next: string): Promise<boolean>;
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
  /** Compare-and-set of the stored private JWK (sealing it in place); false when it was not `expected`. */
  replacePrivateJwk(kid: string, expected: string, next: string): Promise<boolean>;
}

/** A secret's stage: `current` is what readers get; `previous` the one before; `pending` staged, not yet served. */
export type SecretStage = 'pending' | 'current' | 'previous';

/** One stored, encrypted version of a secret. */
export interface SecretVersionRow {
  readonly name: string;
  readonly version: number;
  readonly stage: SecretStage | null;
  /** The value under its own data key (AES-256-GCM, nonce and tag included). */
  readonly ciphertext: Uint8Array;
  /** The data key, wrapped by the KEK named by `kekId`. */
  readonly wrappedKey: Uint8Array;
  readonly kekId: string;
  readonly createdAt: number;
}

/** A secret's metadata, without any ciphertext. */
export interface SecretMetadataRow {
  readonly name: string;
  readonly createdAt: number;
  readonly lastReadAt: number | null;
  readonly lastRotatedAt: number | null;
  readonly deletedAt: number | null;
  readonly purgeAfter: number | null;
  readonly versions: ReadonlyArray<{ readonly version: number; readonly stage: SecretStage | null; readonly createdAt: number; readonly kekId: string }>;
}

/** Where a wrapped data key lives, so a KEK rotation can re-wrap it in place. */
export type WrappedKeyRef =
  | { readonly kind: 'secret'; readonly name: string; readonly version: number }
  | { readonly kind: 'kv'; readonly fn: string }
  | { readonly kind: 'sealing'; readonly purpose: string };

/** A wrapped data key and where it lives. */
export interface WrappedKeyRow {
  readonly ref: WrappedKeyRef;
  readonly wrappedKey: Uint8Array;
  readonly kekId: string;
}

/** A KEK known to this store: its id and check value (never the key). */
export interface KekRow {
  readonly kekId: string;
  readonly check: Uint8Array;
  readonly createdAt: number;
  readonly retiredAt: number | null;
}

/** What a staged change to a secret did. */
export type SecretWriteOutcome = 'ok' | 'not-found' | 'deleted';

/**
 * Encrypted secrets, KV entries and data keys of the vault. The store sees only ciphertext,
 * wrapped keys, names and metadata. Every state change is one atomic operation and bumps a
 * generation counter that other processes poll.
 */
export interface VaultStore {
  /** Records a KEK's id and check value; idempotent. */
  registerKek(kekId: string, check: Uint8Array, at: number): Promise<void>;
  listKeks(): Promise<readonly KekRow[]>;
  /** How many wrapped data keys each KEK wraps. */
  kekUsage(): Promise<Readonly<Record<string, number>>>;
  /** Marks a KEK retired in one transaction, only when nothing is wrapped under it. */
  retireKek(kekId: string, at: number): Promise<'retired' | 'in-use' | 'unknown'>;
  listWrappedKeys(): Promise<readonly WrappedKeyRow[]>;
  /**
   * Replaces wrapped keys in one transaction; each row only if it still holds `expected`
   * (compare-and-set). Returns how many were replaced.
   */
  rewrapKeys(updates: ReadonlyArray<{ readonly ref: WrappedKeyRef; readonly expected: Uint8Array; readonly wrappedKey: Uint8Array; readonly kekId: string }>): Promise<number>;

  /**
   * Allocates the next version number of `name` in one atomic step, creating the secret when
   * `create` is true. `not-found` when it does not exist (and `create` is false), `deleted` when it
   * is soft-deleted.
   */
  allocateSecretVersion(name: string, at: number, create: boolean): Promise<{ readonly outcome: SecretWriteOutcome; readonly version: number }>;
  /**
   * Stores an allocated version with its stage, in one transaction: a new `current` moves the old
   * current to `previous` (and the old previous out of its stage); a new `pending` replaces the
   * old pending.
   */
  insertSecretVersion(row: Omit<SecretVersionRow, 'stage'> & { readonly stage: 'current' | 'pending' }): Promise<SecretWriteOutcome>;
  /** Makes a version current (rollback or promotion of the pending one), atomically. */
  promoteSecretVersion(name: string, version: number | 'pending', at: number): Promise<SecretWriteOutcome | 'no-version'>;
  /** Deletes the pending version; `no-version` when there is none. */
  discardPendingVersion(name: string): Promise<SecretWriteOutcome | 'no-version'>;
  /** The version in `stage` (default `current`) of a live (not deleted) secret. */
  readSecretVersion(name: string, stage?: SecretStage): Promise<SecretVersionRow | undefined>;
  /** Notes a read, at most once a minute per secret (no generation bump). */
  touchSecretRead(name: string, at: number): Promise<void>;
  secretMetadata(name: string): Promise<SecretMetadataRow | undefined>;
  listSecretMetadata(): Promise<readonly SecretMetadataRow[]>;
  /** Soft delete: `deleted` when already deleted. */
  softDeleteSecret(name: string, at: number, purgeAfter: number): Promise<SecretWriteOutcome>;
  restoreSecret(name: string): Promise<SecretWriteOutcome | 'not-deleted'>;
  /** Removes a deleted secret and every version; refused while `purgeAfter` is ahead of `at` unless `force`. */
  purgeSecret(name: string, at: number, force: boolean): Promise<'purged' | 'not-found' | 'not-deleted' | 'in-window'>;
  /** Current version and deletion of every secret, for change detection. */
  secretHeads(): Promise<ReadonlyArray<{ readonly name: string; readonly current: number | null; readonly deletedAt: number | null }>>;
  /** A counter that moves whenever a secret changes, from this or another process. */
  generation(): Promise<number>;
  /**
   * Claims the rotation of a live secret in one atomic statement: only when it is due (it last
   * became current, or was created when it never did, at or before `at - everyMs`) and no claim
   * is held (`rotation_claimed_until` unset or before `at`). The claim holds until `at + leaseMs`.
   * Of concurrent callers exactly one gets true.
   */
  claimSecretRotation(name: string, at: number, everyMs: number, leaseMs: number): Promise<boolean>;
  /** Drops a rotation claim (after a rotation that was started by hand has ended). */
  releaseSecretRotation(name: string): Promise<void>;

  /** The wrapped data key of a function's KV namespace. */
  readKvKey(fn: string): Promise<WrappedKeyRow | undefined>;
  /** Stores a namespace key unless one exists (first writer wins); returns the stored one. */
  createKvKey(fn: string, wrappedKey: Uint8Array, kekId: string, at: number): Promise<WrappedKeyRow>;
  kvGet(fn: string, keyMac: Uint8Array): Promise<Uint8Array | undefined>;
  kvPut(fn: string, keyMac: Uint8Array, nameCiphertext: Uint8Array, valueCiphertext: Uint8Array, at: number): Promise<void>;
  kvDelete(fn: string, keyMac: Uint8Array): Promise<void>;
  kvListNames(fn: string): Promise<ReadonlyArray<{ readonly keyMac: Uint8Array; readonly nameCiphertext: Uint8Array }>>;

  /** The wrapped data key that seals identity material of one purpose. */
  readSealingKey(purpose: string): Promise<WrappedKeyRow | undefined>;
  createSealingKey(purpose: string, wrappedKey: Uint8Array, kekId: string, at: number): Promise<WrappedKeyRow>;
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
  readonly vault: VaultStore;
  /** The schema version after migrations ran. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}
