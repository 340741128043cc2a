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

/** The state store: every port a node needs, behind one handle. */
export interface StateStore {
  readonly deployments: DeploymentStore;
  readonly apiKeys: ApiKeyStore;
  readonly revocations: RevocationStore;
  /** The schema version after migrations ran. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}
