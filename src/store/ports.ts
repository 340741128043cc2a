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
  revoke(jti: string, expiresAt: number): Promise<void>;
  /** Every revocation still in force at `now`. */
  listActive(now: number): Promise<readonly string[]>;
  /** A value that changes whenever revocations may have changed, from this or another process. */
  changeCounter(): string;
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
  /** Records the failure count and lock of a username; prunes entries idle for a day. */
  setLoginFailures(username: string, failures: number, lockedUntil: number | null, at: number): Promise<void>;
  clearLoginFailures(username: string): Promise<void>;
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
}

/** Opaque refresh tokens, rotated on every use. */
export interface RefreshTokenStore {
  insert(record: Omit<RefreshTokenRecord, 'usedAt' | 'revokedAt'>): Promise<void>;
  find(digest: string): Promise<RefreshTokenRecord | undefined>;
  /** Marks the token spent; false when it was already spent or revoked (a reuse). */
  spend(digest: string, at: number): Promise<boolean>;
  revokeFamily(familyId: string, at: number): Promise<void>;
  revokeUser(userId: string, at: number): Promise<void>;
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
  readonly users: UserStore;
  readonly refreshTokens: RefreshTokenStore;
  readonly signingKeys: SigningKeyStore;
  /** The schema version after migrations ran. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}
