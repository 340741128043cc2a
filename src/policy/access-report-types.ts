import type { EgressGrantSpec } from '../manifest/index.js';

/** A principal as the stores list it (built-in user or API key), with its roles now. */
export interface KnownPrincipal {
  /** The principal id on audit events: a user's id, `apikey:<id>` for a key. */
  readonly principalId: string;
  readonly kind: 'user' | 'apiKey';
  readonly name: string;
  readonly roles: readonly string[];
  /** Disabled user or revoked key: listed, never counted as unused access. */
  readonly inactive: boolean;
}

/** What every reported grant has: the policy it becomes, where it is written, when it was last used. */
interface GrantBase {
  /** The generated policy it becomes, such as `route:GET /orders#allow.roles` or `function:orders#secret.db-url`. */
  readonly policyId: string;
  /** `palisade.yaml:14`. */
  readonly origin: string;
  /** Last use in the window (ms since the epoch); null: never. */
  readonly lastUsed: number | null;
}

/** One entry of a private route's `allow` (or the implicit admin grant). */
export interface RouteGrantUse extends GrantBase {
  readonly kind: 'route';
  readonly route: string;
  /** `roles`, `users`, `apiKeys`, `issuers`, or `admin-only`. */
  readonly list: 'roles' | 'users' | 'apiKeys' | 'issuers' | 'admin-only';
  readonly value: string;
  /** Used by a principal whose roles the stores do not know (an OIDC user): every role of the list counts as used. */
  readonly assumed?: true;
}

/** One service binding (`functions.<function>.bindings.<binding>`, `type: service`). */
export interface BindingGrantUse extends GrantBase {
  readonly kind: 'binding';
  readonly function: string;
  readonly binding: string;
  readonly target: string;
}

/** One secret granted to a function (`functions.<function>.secrets[]`). */
export interface SecretGrantUse extends GrantBase {
  readonly kind: 'secret';
  readonly function: string;
  readonly secret: string;
}

/** One egress grant (`functions.<function>.egress[index]`), as written. */
export interface EgressGrantUse extends GrantBase {
  readonly kind: 'egress';
  readonly function: string;
  readonly index: number;
  readonly host: string;
  /** Absent: the scheme's default port. */
  readonly ports?: readonly number[];
}

/** One egress grant of a whole segment (`segments.<segment>.egress[index]`), as written: used by any function of the segment. */
export interface SegmentEgressGrantUse extends GrantBase {
  readonly kind: 'segment-egress';
  readonly segment: string;
  readonly index: number;
  readonly host: string;
  /** Absent: the scheme's default port. */
  readonly ports?: readonly number[];
}

/** One reported grant. */
export type GrantUse = RouteGrantUse | BindingGrantUse | SecretGrantUse | EgressGrantUse | SegmentEgressGrantUse;

/**
 * Whether one egress grant lets a function reach `host:port` (the canonical host and port an
 * `egress` audit event carries). The egress guard's own matching: the caller passes it in.
 */
export type EgressGrantCovers = (grant: EgressGrantSpec, host: string, port: number) => boolean;

/** The access report: what the audit trail says about the grants over one window. */
export interface AccessReport {
  readonly project: string;
  readonly since: number;
  readonly until: number;
  /** Audit events in the window. */
  readonly events: number;
  /** Every grant: route `allow` entries first, then each function's bindings, secrets and egress grants. */
  readonly grants: readonly GrantUse[];
  readonly unusedGrants: readonly GrantUse[];
  readonly principals: ReadonlyArray<KnownPrincipal & { readonly lastSeen: number | null }>;
  /** Last allowed invocation through a route or a service binding. */
  readonly functions: ReadonlyArray<{ readonly name: string; readonly lastInvoked: number | null }>;
  /** A unified diff of the manifest removing the unused grants; empty when there are none. */
  readonly suggestedDiff: string;
  /** What the diff leaves (the last entry of a route's `allow`), and what removing a function grant breaks. */
  readonly notes: readonly string[];
}
