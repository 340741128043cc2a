import { egressFailureReasons, PalisadeError, type ErrorCode } from '../kernel/index.js';

/**
 * One host a function may reach. Weakening switches have loud names and are off by default
 * (CONVENTIONS §12); the platform logs each one that is on when it starts.
 *
 * @example
 * ```ts
 * const grant: EgressGrant = { host: 'api.stripe.com' };            // https, port 443
 * const all: EgressGrant = { host: '*.example.com', ports: [443, 8443] };
 * ```
 */
export interface EgressGrant {
  /** An exact host (`api.stripe.com`, an IP literal) or `*.suffix` for every name strictly under the suffix. */
  readonly host: string;
  /** Allowed ports; omitted: the scheme's default port only (443, or 80 for `http:`). */
  readonly ports?: readonly number[];
  /** Let this host resolve to private, loopback or link-local addresses (internal services). */
  readonly allowPrivateNetwork?: boolean;
  /** Let this host be called over plain `http:`. */
  readonly allowInsecureHttp?: boolean;
}

/** An outbound request as a function asked for it. */
export interface EgressRequest {
  readonly method: string;
  /** Absolute `https:` (or granted `http:`) url. */
  readonly url: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array | null;
}

/** The answer of an allowed outbound request, read whole within the limits. */
export interface EgressResult {
  readonly status: number;
  readonly statusText: string;
  /** Response headers without hop-by-hop headers, in the order received. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array;
  /** The url that answered (after redirects). */
  readonly url: string;
  /** How many redirects were followed. */
  readonly redirects: number;
}

/** The closed vocabulary of egress decision reasons recorded for every attempt. */
export const egressReasons = ['allowed', 'not-granted', ...egressFailureReasons, 'policy-denied'] as const;

/** One egress decision reason. */
export type EgressReason = (typeof egressReasons)[number];

/**
 * One record per attempt (the first request and each redirect), allowed or not, for the audit
 * trail. Carries no path, query string, header values or bodies.
 */
export interface EgressEvent {
  readonly time: number;
  readonly function: string;
  /** Absent when the function's method was not a valid one. */
  readonly method?: string;
  /** Canonical host; absent when the url did not parse. */
  readonly host?: string;
  readonly port?: number;
  /** The address connected to (or refused); absent before resolution. */
  readonly address?: string;
  readonly decision: 'allow' | 'deny';
  readonly reason: EgressReason;
  /** Policies that determined the decision, when a policy decision was made. */
  readonly policyIds: readonly string[];
  /** HTTP status of the answer, for an allowed attempt that got one. */
  readonly status?: number;
  /** 0 for the request the function made, n for the n-th redirect. */
  readonly hop: number;
  readonly durationMs: number;
}

/** The policy decision for one egress attempt (Cedar action `egress`). */
export interface EgressAuthorization {
  readonly effect: 'allow' | 'deny';
  readonly policyIds: readonly string[];
}

/** Asks policy whether `function` may reach `host:port`; a throw is a deny. */
export type EgressAuthorizer = (query: { readonly function: string; readonly host: string; readonly port: number }) => EgressAuthorization | Promise<EgressAuthorization>;

/** One resolved address. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to every address it has; rejects or answers `[]` when it has none. */
export type DnsResolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

const codeOf: Readonly<Record<Exclude<EgressReason, 'allowed'>, ErrorCode>> = {
  'not-granted': 'PAL_EGRESS_NOT_GRANTED',
  'private-address': 'PAL_EGRESS_PRIVATE_ADDRESS',
  'insecure-scheme': 'PAL_EGRESS_INSECURE_SCHEME',
  'bad-url': 'PAL_EGRESS_BAD_URL',
  'bad-request': 'PAL_EGRESS_BAD_REQUEST',
  'dns-failed': 'PAL_EGRESS_DNS_FAILED',
  'too-many-redirects': 'PAL_EGRESS_TOO_MANY_REDIRECTS',
  'too-large': 'PAL_EGRESS_RESPONSE_TOO_LARGE',
  timeout: 'PAL_EGRESS_TIMEOUT',
  cancelled: 'PAL_EGRESS_CANCELLED',
  'connect-failed': 'PAL_EGRESS_CONNECT_FAILED',
  'policy-denied': 'PAL_EGRESS_POLICY_DENIED',
};

/**
 * The error code of a refused or failed egress attempt; undefined for `allowed`.
 *
 * @example
 * ```ts
 * egressErrorCode('private-address'); // 'PAL_EGRESS_PRIVATE_ADDRESS'
 * ```
 */
export function egressErrorCode(reason: EgressReason): ErrorCode | undefined {
  return reason === 'allowed' ? undefined : codeOf[reason];
}

/**
 * A refused or failed egress attempt as a value: its code, status and reason travel together
 * (CONVENTIONS §18). The message is safe to hand back to the function; detail is in `cause`.
 *
 * @example
 * ```ts
 * throw new EgressError('not-granted', 'egress to `evil.example` is not granted');
 * ```
 */
export class EgressError extends PalisadeError {
  readonly reason: Exclude<EgressReason, 'allowed'>;

  constructor(reason: Exclude<EgressReason, 'allowed'>, message: string, options: { cause?: unknown; code?: ErrorCode } = {}) {
    super(options.code ?? codeOf[reason], message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'EgressError';
    this.reason = reason;
  }
}
