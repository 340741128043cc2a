/** HTTP methods a route may accept. */
export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

/** A typed binding on a function `env`. */
export type BindingSpec =
  | { readonly type: 'text'; readonly value: string }
  | { readonly type: 'json'; readonly value: unknown }
  | { readonly type: 'service'; readonly function: string };

/** Limits of one function, defaults applied. */
export interface FunctionLimits {
  readonly memoryMb: number;
  readonly cpuMs: number;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  /** Requests one worker runs at once for this function (one isolate each). */
  readonly concurrency: number;
  /** Requests that may wait for a free isolate before 503. */
  readonly queue: number;
}

/** One function, defaults applied, `source` resolved to an absolute path. */
export interface FunctionSpec {
  readonly name: string;
  readonly source: string;
  readonly segment: string;
  readonly limits: FunctionLimits;
  readonly bindings: Readonly<Record<string, BindingSpec>>;
}

/** One route, defaults applied. */
export interface RouteSpec {
  readonly index: number;
  readonly path: string;
  readonly methods: readonly HttpMethod[];
  readonly function: string;
  readonly public: boolean;
  readonly maxBodyBytes: number;
  /** Authentication methods accepted (issuer names, `api-key`); empty for public routes. */
  readonly auth: readonly string[];
}

/** One external OpenID Connect issuer, defaults applied. */
export interface IssuerSpec {
  readonly name: string;
  readonly issuer: string;
  readonly audience: string;
  readonly algorithms: readonly ('RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA')[];
  readonly rolesClaim: string;
  readonly clockSkewSec: number;
  readonly maxTokenBytes: number;
  readonly jwksCooldownSec: number;
  readonly typ?: string;
  readonly requiredClaims: readonly string[];
  readonly mfaAmr: readonly string[];
  readonly mfaAcr: readonly string[];
  readonly allowInsecureHttpIssuer: boolean;
}

/** The identity section, defaults applied. */
export interface BuiltinSpec {
  readonly enabled: boolean;
  readonly mfa: 'required' | 'optional';
  readonly accessTokenTtlSec: number;
  readonly refreshTokenTtlSec: number;
  readonly lockout: { readonly maxFailures: number; readonly lockSec: number };
}

export interface MtlsSpec {
  /** Absolute path of the client CA bundle. */
  readonly ca: string;
  readonly principalFrom: 'san-uri' | 'subject';
}

export interface IdentitySpec {
  readonly issuers: readonly IssuerSpec[];
  readonly builtin: BuiltinSpec;
  readonly mtls?: MtlsSpec;
  readonly apiKeys: { readonly enabled: boolean };
}



/** TLS configuration: a generated local CA, or operator files (absolute paths). */
export type TlsSpec = { readonly mode: 'auto' } | { readonly mode: 'files'; readonly cert: string; readonly key: string };

/** The gateway section, defaults applied. */
export interface GatewaySpec {
  readonly host: string;
  readonly port: number;
  readonly tls: TlsSpec;
  readonly limits: {
    readonly maxHeaderBytes: number;
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
  };
}

/** A segment, defaults applied. */
export interface SegmentSpec {
  readonly name: string;
  readonly workers: number;
}

/**
 * A validated manifest: defaults applied, paths absolute, deep-frozen.
 *
 * @example
 * ```ts
 * const { manifest } = await loadManifest('examples/shop');
 * manifest.functions.get('orders')?.limits.cpuMs; // 50
 * ```
 */
export interface Manifest {
  readonly name: string;
  readonly projectDir: string;
  readonly file: string;
  readonly gateway: GatewaySpec;
  readonly identity: IdentitySpec;
  readonly segments: ReadonlyMap<string, SegmentSpec>;
  readonly functions: ReadonlyMap<string, FunctionSpec>;
  readonly routes: readonly RouteSpec[];
}
