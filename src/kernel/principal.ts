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
