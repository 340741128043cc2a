/**
 * The wiring point between the secrets vault and the runtime: the runtime reads through its own
 * ports (`SecretResolver`, `KvResolver`); this turns a vault into them.
 */
import { PalisadeError, type AuditEvent } from '../kernel/index.js';
import type { BindingCallEvent, KvResolver, KvStore, SecretReadEvent, SecretResolver } from '../runtime/index.js';

/**
 * What this function receives: the secrets vault, typed by shape only (the vault's `Vault`:
 * `readCurrent` gives the decrypted current version or undefined for a missing or deleted secret;
 * `onChange` reports every change of a current version and returns an unsubscribe; `kv(fn)` is
 * the encrypted namespace of one function).
 */
export interface VaultShape {
  readCurrent(name: string, options?: { readonly use?: boolean }): Promise<{ readonly name: string; readonly version: number; readonly value: Uint8Array } | undefined>;
  onChange(listener: (name: string) => void): () => void;
  kv(functionName: string): {
    get(key: string): Promise<Uint8Array | null>;
    put(key: string, value: Uint8Array): Promise<void>;
    delete(key: string): Promise<void>;
    list(options?: { prefix?: string; limit?: number; cursor?: string }): Promise<{ readonly keys: readonly string[]; readonly cursor?: string }>;
  };
}

/** The runtime's two ports. */
export interface RuntimeResolvers {
  readonly secrets: SecretResolver;
  readonly kv: KvResolver;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns a vault into the runtime's resolvers. Secret values reach functions as strings: a value
 * that is not valid UTF-8 is refused (the read fails as `unavailable`), never mangled.
 *
 * @example
 * ```ts
 * const node = await startPlatform({ manifest, logger, resolvers: resolversFromVault(vault) });
 * ```
 */
export function resolversFromVault(vault: VaultShape): RuntimeResolvers {
  return {
    secrets: {
      async read(name, options) {
        const current = await vault.readCurrent(name, options);
        if (current === undefined) return undefined;
        let value: string;
        try {
          value = utf8.decode(current.value);
        } catch (error) {
          throw new PalisadeError('PAL_INTERNAL', 'a secret value is not valid UTF-8', { cause: error });
        }
        return { version: current.version, value };
      },
      onChange: (listener) => vault.onChange(listener),
    },
    kv: {
      namespace: (fn): KvStore => vault.kv(fn),
    },
  };
}

/** The principal a function's decision is recorded under (`callFunction`, `readSecret`, `egress`). */
export const functionPrincipal = (fn: string): NonNullable<AuditEvent['principal']> => ({ type: 'Function', id: fn, issuer: 'palisade', authMethod: 'workload', mfa: false });

const SECRET_REASONS: Readonly<Record<SecretReadEvent['reason'], AuditEvent['reason']>> = {
  allowed: 'allowed',
  'not-granted': 'not-granted',
  'policy-denied': 'policy-denied',
  'not-found': 'secret-not-found',
  unavailable: 'secret-unavailable',
};

/** A secret read as an audit event: function, secret name, version, decision and policies; never the value. */
export function secretReadAuditEvent(e: SecretReadEvent, time: number): AuditEvent {
  return {
    time,
    requestId: e.requestId,
    action: 'readSecret',
    outcome: e.allowed ? 'allow' : e.reason === 'unavailable' ? 'error' : 'deny',
    reason: SECRET_REASONS[e.reason],
    status: 0,
    method: 'CALL',
    function: e.fn,
    principal: functionPrincipal(e.fn),
    ...(e.allowed ? {} : { code: 'PAL_RUNTIME_SECRET_DENIED' as const }),
    clientIp: '',
    durationMs: 0,
    policyIds: e.policyIds,
    chain: e.chain,
    secret: { name: e.secret, ...(e.version === undefined ? {} : { version: e.version }), count: e.count, cached: e.cached },
  };
}

const CALL_REASONS: Readonly<Record<BindingCallEvent['reason'], AuditEvent['reason']>> = {
  allowed: 'allowed',
  'not-granted': 'not-granted',
  'policy-denied': 'policy-denied',
  'too-deep': 'too-deep',
  're-entrant': 're-entrant',
  'deadline-passed': 'deadline-passed',
  'too-large': 'function-error',
  'target-failed': 'function-error',
};

/** A service-binding call decision as an audit event. */
export function bindingCallAuditEvent(e: BindingCallEvent, time: number): AuditEvent {
  return {
    time,
    requestId: e.requestId,
    action: 'callFunction',
    outcome: e.allowed ? 'allow' : 'deny',
    reason: CALL_REASONS[e.reason],
    status: 0,
    method: 'CALL',
    function: e.caller,
    principal: functionPrincipal(e.caller),
    ...(e.allowed ? {} : { code: e.reason === 'deadline-passed' ? ('PAL_RUNTIME_BINDING_FAILED' as const) : ('PAL_RUNTIME_BINDING_DENIED' as const) }),
    clientIp: '',
    durationMs: 0,
    policyIds: e.policyIds,
    chain: e.chain,
    ...(e.target === undefined ? {} : { target: e.target }),
  };
}
