/** A TLS client certificate as the gateway saw it; verified against the configured client CA. */
export interface ClientCertificate {
  /** True when the chain verified against the client CA bundle. */
  readonly authorized: boolean;
  readonly subjectCommonName?: string;
  /** URIs in subjectAltName, such as a SPIFFE ID. */
  readonly sanUris: readonly string[];
  readonly fingerprint256: string;
}

/**
 * Who sent a request, as authentication established it. Policy and audit consume it unchanged.
 */
export interface Principal {
  readonly type: 'User' | 'ServiceAccount' | 'Function';
  readonly id: string;
  readonly roles: readonly string[];
  /** True only when the proof really included a second factor. */
  readonly mfa: boolean;
  readonly authMethod: 'oidc' | 'builtin' | 'api-key' | 'mtls' | 'workload';
  readonly authTime?: number;
  readonly issuer?: string;
  readonly tokenId?: string;
}
