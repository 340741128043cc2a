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

/** One host a function may reach (`functions.<name>.egress[]`, `segments.<name>.egress[]`), as the egress guard takes it. */
export interface EgressGrantSpec {
  /** Exact host or IP literal, or `*.suffix`. */
  readonly host: string;
  /** Allowed ports; absent: the scheme's default port. */
  readonly ports?: readonly number[];
  /** Weakens SSRF protection for this host (logged at start). */
  readonly allowPrivateNetwork?: boolean;
  /** Allows plain `http:` to this host (logged at start). */
  readonly allowInsecureHttp?: boolean;
}

/** One function, defaults applied, `source` resolved to an absolute path. */
export interface FunctionSpec {
  readonly name: string;
  readonly source: string;
  readonly segment: string;
  readonly limits: FunctionLimits;
  readonly bindings: Readonly<Record<string, BindingSpec>>;
  /** Hosts the function itself may reach with `fetch()` (its segment's `egress` adds to them: `egressGrantsOf`); absent or empty: none. */
  readonly egress?: readonly EgressGrantSpec[];
  /** Secrets granted to `env.secrets.get(name)` (`secrets:`); absent means none. */
  readonly secrets?: readonly string[];
  /** Manifest line of each granted secret (1-based), for policy origins. */
  readonly secretLines?: Readonly<Record<string, number>>;
  /** Whether `env.kv` (the function's own KV namespace) is granted (`kv:`, default false). */
  readonly kv?: boolean;
  /** Line of the function in the manifest (1-based), for policy origins. */
  readonly line?: number;
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
  /** JSON Schema per method (`schema:`); a body that does not match gets 422 before any function runs. */
  readonly schema?: Readonly<Partial<Record<HttpMethod, BodySchemaSpec>>>;
  /** Media types accepted for a body (`contentTypes:`); absent: any (JSON when a schema is set). */
  readonly contentTypes?: readonly string[];
  /** Content codings accepted and decoded by the gateway (`contentEncodings:`); absent: none. */
  readonly contentEncodings?: readonly ContentEncoding[];
  /** The route's rate limit (`rateLimit:`). */
  readonly rateLimit?: RateLimitSpec;
  /** Who may call this private route (`allow:`); absent: only the `admin` role. */
  readonly allow?: RouteAllowSpec;
  /** `required`: callers without a second factor are refused (`mfa:`, default optional). */
  readonly mfa?: 'required' | 'optional';
  /** Line of the route in the manifest (1-based), for policy origins. */
  readonly line?: number;
  /** Credential headers passed on to the function anyway (`unsafeForwardCredentials:`). */
  readonly unsafeForwardCredentials?: readonly CredentialHeader[];
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
  readonly typ: string;
  readonly maxTokenLifetimeSec: number;
  readonly allowInsecureUntypedTokens: boolean;
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
  /** Absolute paths of CRL files. */
  readonly crls: readonly string[];
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
  /** The origin functions see in `request.url` (`gateway.origin`); absent: the listen address. */
  readonly origin?: string;
  /** The gateway-wide limit per client address (`gateway.rateLimit`). */
  readonly rateLimit?: RateLimitSpec;
  readonly limits: {
    readonly maxHeaderBytes: number;
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly maxJsonDepth: number;
    readonly maxJsonKeys: number;
  };
}

/** A declared secret (`secrets:`); its value lives only in the vault. */
export interface SecretSpec {
  readonly name: string;
  readonly description?: string;
  /** Scheduled rotation through a rotation function. */
  readonly rotation?: { readonly function: string; readonly everyMs: number };
  /** The segment declared as the secret's owner (`segment:`); absent: inferred (see {@link Manifest.secretSegments}). */
  readonly segment?: string;
}

/** A segment, defaults applied. */
export interface SegmentSpec {
  readonly name: string;
  readonly workers: number;
  /**
   * Segment rule (`allowCallsFrom:`): the other segments whose functions may call into this one
   * through a service binding. Absent or empty: none; a cross-segment call is refused.
   */
  readonly allowCallsFrom?: readonly string[];
  /**
   * Segment rule (`allowSecretReadsFrom:`): the other segments whose functions may be granted, and
   * read, secrets that belong to this segment. Absent or empty: none.
   */
  readonly allowSecretReadsFrom?: readonly string[];
  /** Hosts every function of the segment may reach (`egress:`), besides each function's own; absent or empty: none. */
  readonly egress?: readonly EgressGrantSpec[];
  /** Line of the segment in the manifest (1-based), for policy origins; absent for the implicit `default`. */
  readonly line?: number;
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
  readonly audit: AuditSpec;
  /** Declared secrets (`secrets:`), by name. */
  readonly secrets: ReadonlyMap<string, SecretSpec>;
  /**
   * The segment each declared or granted secret belongs to: its declared `segment:`, else the one
   * segment of the functions granted it (a rotation function counts as granted), else `default`.
   * A secret named nowhere belongs to `default` (see `secretSegmentOf`).
   */
  readonly secretSegments: ReadonlyMap<string, string>;
  /** Absolute paths of the custom Cedar policy files (`policies:`). */
  readonly policies?: readonly string[];
  /** Declared roles (`roles:`), by name; absent or empty when the manifest declares none. */
  readonly roles?: ReadonlyMap<string, RoleSpec>;
}

/** A declared role (`roles.<name>`). */
export interface RoleSpec {
  readonly name: string;
  /** `required`: principals in this role are refused everything without a second factor. */
  readonly mfa: 'required' | 'optional';
  readonly description?: string;
  /** Line of the role in the manifest (1-based), for policy origins. */
  readonly line?: number;
}

/** A route's `allow`: each present list admits the callers it names. */
export interface RouteAllowSpec {
  readonly roles?: readonly string[];
  /** `<issuer-name>:<subject>`. */
  readonly users?: readonly string[];
  readonly apiKeys?: readonly string[];
  /** Issuer names (`builtin`, an OIDC issuer's name, `api-key`, `mtls`). */
  readonly issuers?: readonly string[];
  /** Line of `allow:` in the manifest (1-based). */
  readonly line?: number;
}

/** The audit section, defaults applied. */
export interface AuditSpec {
  readonly mode: 'sync' | 'async';
  readonly checkpoint: { readonly everyEvents: number; readonly everySeconds: number };
  /** Absolute path of the witness file, when configured. */
  readonly witness?: string;
  readonly sinks: readonly AuditSinkSpec[];
}

/** A live audit sink, paths absolute. */
export type AuditSinkSpec =
  | { readonly type: 'file'; readonly name: string; readonly format: 'ocsf' | 'cef'; readonly path: string }
  | { readonly type: 'webhook'; readonly name: string; readonly format: 'ocsf' | 'cef'; readonly url: string; readonly ca?: string }
  | { readonly type: 'syslog'; readonly name: string; readonly format: 'ocsf' | 'cef'; readonly host: string; readonly port: number; readonly tls: boolean; readonly ca?: string };

/** A rate limit: `points` requests per `durationSec`, plus a `burst` pool, counted per `by`. */
export interface RateLimitSpec {
  readonly points: number;
  readonly durationSec: number;
  readonly burst: number;
  /** `principal` (issuer-qualified caller id; the address on public routes) or `address`. */
  readonly by: 'principal' | 'address';
}

/** A route's JSON Schema for one method's body: the file it came from and its parsed content. */
export interface BodySchemaSpec {
  /** Absolute path of the schema file. */
  readonly file: string;
  readonly schema: unknown;
}

/** Content codings a route may accept (the gateway decodes them, bounded by `maxBodyBytes`). */
export type ContentEncoding = 'gzip' | 'deflate' | 'br';

/** Credential-bearing request headers the gateway removes unless a route opts in. */
export const credentialHeaders = ['authorization', 'cookie', 'proxy-authorization', 'x-api-key'] as const;

/** One credential-bearing request header. */
export type CredentialHeader = (typeof credentialHeaders)[number];
