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

/** The state store: every port a node needs, behind one handle. */
export interface StateStore {
  readonly deployments: DeploymentStore;
  /** The schema version after migrations ran. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}
