/** A TLS client certificate as the gateway saw it; verified against the configured client CA. */
export interface ClientCertificate {
  /** True when the chain verified against the client CA bundle. */
  readonly authorized: boolean;
  readonly subjectCommonName?: string;
  /** URIs in subjectAltName, such as a SPIFFE ID. */
  readonly sanUris: readonly string[];
  readonly fingerprint256: string;
  /** The issuer's distinguished name, RDNs in certificate order joined by `,` (`C=DE,O=Example,CN=Client CA`). */
  readonly issuer?: string;
  /** The serial number, upper-case hex. */
  readonly serialNumber?: string;
}

/**
 * Who sent a request, as authentication established it. Policy and audit consume it unchanged.
 * A principal is named by `issuer` and `id` together: `sub: "123"` from two identity providers
 * is two principals.
 */
export interface Principal {
  readonly type: 'User' | 'ServiceAccount' | 'Function';
  readonly id: string;
  readonly roles: readonly string[];
  /** True only when the proof really included a second factor. */
  readonly mfa: boolean;
  readonly authMethod: 'oidc' | 'builtin' | 'api-key' | 'mtls' | 'workload';
  readonly authTime?: number;
  /** Who vouches for `id`: the token issuer URL, the client CA's name, or Palisade's own key store. */
  readonly issuer: string;
  readonly tokenId?: string;
}
