/**
 * The gateway end of `env.secrets.get(name)`: the grant, the policy, the read, the record. Identity
 * is the gateway's own record of the invocation (its function), never the worker's word.
 */
import type { InvokePrincipal } from './protocol.js';
import type { SecretResolver } from './secret-ports.js';

/** Why a secret read came out as it did (closed vocabulary). */
export type SecretReadReason = 'allowed' | 'not-granted' | 'policy-denied' | 'not-found' | 'unavailable';

/** One secret read (or, for reads answered from a cache, `count` of them), for the audit trail. Never carries the value. */
export interface SecretReadEvent {
  readonly fn: string;
  readonly requestId: string;
  readonly secret: string;
  /** The version read; absent when nothing was read. */
  readonly version?: number;
  readonly allowed: boolean;
  readonly reason: SecretReadReason;
  /** The policies that decided (Cedar ids); empty when the grant check refused first. */
  readonly policyIds: readonly string[];
  /** Answered from a cache in the worker (after an earlier allowed read). */
  readonly cached: boolean;
  readonly count: number;
  readonly chain: readonly string[];
}

/** One secret read as the policy engine sees it. */
export interface SecretAuthorizationRequest {
  readonly fn: string;
  readonly secret: string;
  readonly chain: readonly string[];
  readonly principal: InvokePrincipal | null;
  readonly time: number;
}

/**
 * Decides a read (Cedar `Action::"readSecret"`); filled by the policy capability. Throwing is a
 * deny. `readsContext`: whether any policy that could apply reads the request context (then the
 * answer may differ between requests, and the value is not cached).
 */
export type SecretAuthorizer = (request: SecretAuthorizationRequest) => { readonly effect: 'allow' | 'deny'; readonly policyIds: readonly string[]; readonly readsContext: boolean };

/** What the function is told when it may not read a secret, whatever the reason: names cannot be probed. */
export const secretRefusal = (name: string): string => `secret \`${name}\` is not available to this function`;

/** The answer to one read. `cache`: the worker may keep the value until told otherwise. */
export type SecretReadAnswer = { readonly ok: true; readonly value: string; readonly version: number; readonly cache: boolean; readonly policyIds: readonly string[] } | { readonly ok: false; readonly message: string };

/** Everything one read needs. */
export interface SecretReadInput {
  readonly fn: string;
  readonly granted: readonly string[];
  readonly requestId: string;
  readonly principal: InvokePrincipal | null;
  readonly chain: readonly string[];
  readonly name: string;
  readonly resolver: SecretResolver | undefined;
  readonly authorize: SecretAuthorizer | undefined;
  readonly now: () => number;
  /** A number that moves whenever a cached answer for `name` would become wrong (policy reload, change of `name`). */
  readonly generation: (name: string) => number;
  /** Records the read; a rejection fails an allowed read closed. */
  readonly record: (event: SecretReadEvent) => void | Promise<void>;
  /** Sees each value handed out (the redactor of the function learns it before the function does). */
  readonly learn: (fn: string, name: string, value: string) => void;
}

/**
 * Decides, reads and records one secret read. Never rejects. Steps: the grant in the manifest;
 * the policy (`readSecret`, a custom `forbid` wins); the read; the record (an allowed read whose
 * record fails is refused). "Not granted", "denied", "does not exist" and "unavailable" all give
 * the function the same message.
 *
 * @example
 * ```ts
 * const answer = await runSecretRead({ fn: 'orders', granted: ['db-url'], name: 'db-url', ... });
 * ```
 */
export async function runSecretRead(input: SecretReadInput): Promise<SecretReadAnswer> {
  const { fn, name } = input;
  const base = { fn, requestId: input.requestId, secret: name, cached: false, count: 1, chain: input.chain };
  const refuse = async (reason: SecretReadReason, policyIds: readonly string[], version?: number): Promise<SecretReadAnswer> => {
    try {
      await input.record({ ...base, allowed: false, reason, policyIds, ...(version === undefined ? {} : { version }) });
    } catch {
      // The refusal stands whether or not it could be recorded.
    }
    return { ok: false, message: secretRefusal(name) };
  };
  if (!input.granted.includes(name)) return refuse('not-granted', []);
  const generation = input.generation(name);
  let policyIds: readonly string[] = [];
  let readsContext = false;
  if (input.authorize !== undefined) {
    let allow = false;
    try {
      const decision = input.authorize({ fn, secret: name, chain: input.chain, principal: input.principal, time: input.now() });
      allow = decision.effect === 'allow';
      policyIds = decision.policyIds;
      readsContext = decision.readsContext;
    } catch {
      allow = false;
    }
    if (!allow) return refuse('policy-denied', policyIds);
  }
  if (input.resolver === undefined) return refuse('unavailable', policyIds);
  let secret: Awaited<ReturnType<SecretResolver['read']>>;
  try {
    secret = await input.resolver.read(name);
  } catch {
    return refuse('unavailable', policyIds);
  }
  if (secret === undefined) return refuse('not-found', policyIds);
  input.learn(fn, name, secret.value);
  try {
    await input.record({ ...base, allowed: true, reason: 'allowed', policyIds, version: secret.version });
  } catch {
    // INVARIANT: no secret leaves without its record.
    return { ok: false, message: secretRefusal(name) };
  }
  // Cached only when the decision depends on nothing that changes between requests, and neither
  // the policies nor the secret changed while this read was in flight.
  const cache = !readsContext && input.generation(name) === generation;
  return { ok: true, value: secret.value, version: secret.version, cache, policyIds };
}
