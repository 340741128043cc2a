import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { API_KEY_METHOD, BUILTIN_METHOD, MTLS_METHOD, systemClock, type AuditEvent, type AuditSink, type Clock, type Logger } from '../kernel/index.js';
import { openAuditLog, startSinkDelivery, type AuditLog, type LiveSinkSpec } from '../audit/index.js';
import { egressGrantsOf, type Manifest } from '../manifest/index.js';
import {
  createAdminApi,
  createGateway,
  createInsecureLoopbackHttpGateway,
  denyAllAuthorizer,
  ensureLocalTls,
  loadTlsFiles,
  rejectAllAuthenticator,
  type Gateway,
  type GatewayConfig,
  type GatewayDeps,
} from '../gateway/index.js';
import { buildPrelude, bundleFunction, createWorkerPool, probeNetworkIsolation, stopBundler, type NetworkIsolation, type WorkerPool } from '../runtime/index.js';
import { bindingCallAuditEvent, resolversFromVault, secretReadAuditEvent, type RuntimeResolvers } from './secret-resolvers.js';
import { builtinAdminEndpoints } from './admin-endpoints.js';
import { createEgressHandler, type EgressWiringOptions } from './egress-calls.js';
import { vaultSecretsAdmin } from './secrets-admin.js';
import { startSecretRotation, type SecretRotation } from './secret-rotation.js';
import type { Vault } from '../secrets/index.js';
import { keyCreatedWarning, openProjectState } from './project-state.js';
import { createPolicyAuthorizer } from '../policy/index.js';
import { AUTH_ENDPOINT_PREFIX, createApiKeyVerifier, createAuthEndpoints, createAuthenticator, createBuiltinIssuer, createOidcIssuer, loadCrlSerials, pruneIdentityState, RevocationList, type BuiltinIssuer, type OidcIssuer } from '../identity/index.js';

const PALISADE_VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Options of {@link startPlatform}. */
export interface StartOptions {
  readonly manifest: Manifest;
  readonly logger: Logger;
  /** Overrides `gateway.listen`. */
  readonly host?: string;
  readonly port?: number;
  readonly clock?: Clock;
  /**
   * Where functions read secrets (`env.secrets`) and keep KV data (`env.kv`). Absent: the node's
   * own vault under `.palisade/` (`resolversFromVault(vault)`); tests and benchmarks may pass others.
   */
  readonly resolvers?: RuntimeResolvers;
  /**
   * How functions' outbound requests (`fetch()`) are made: trust anchors replacing the bundled
   * roots (a private PKI), a resolver, limits. Absent: the defaults (Mozilla roots, the system
   * resolver, {@link DEFAULT_FUNCTION_EGRESS_LIMITS}).
   */
  readonly egress?: Pick<EgressWiringOptions, 'tls' | 'resolve' | 'limits'>;
  /**
   * `auto` (default): start workers in an empty network namespace where the OS allows it
   * (Linux, root or CAP_SYS_ADMIN); `off`: never.
   */
  readonly networkIsolation?: 'auto' | 'off';
}

/** A running node: gateway, workers and store. */
export interface RunningPlatform {
  readonly url: string;
  /** The CA file to trust, for `tls: auto`; undefined for operator certificates or plain http. */
  readonly caFile: string | undefined;
  readonly address: AddressInfo;
  readonly pool: WorkerPool;
  /** The secrets vault of this node (secrets, KV namespaces, change notices). */
  readonly vault: Vault;
  readonly coldStartMs: Readonly<Record<string, number>>;
  /** Whether workers run in an empty network namespace, and if not, why. */
  readonly networkIsolation: NetworkIsolation;
  /** Scheduled secret rotation, and rotation on demand. */
  readonly rotation: SecretRotation;
  /**
   * Swaps the authorization policies for those of `next` (the project's manifest read again):
   * generated route and binding policies and the custom `.cedar` files, in one step. A set that
   * does not validate throws a `DiagnosticsError` and the old set keeps serving. Routes, functions
   * and identity settings are not reloaded (they need a restart); it returns what differs there.
   */
  reloadPolicies(next: Manifest): { readonly policies: number; readonly needsRestart: readonly string[] };
  /** Drains in-flight requests, then stops the workers and closes the store. */
  close(): Promise<void>;
}

/**
 * Starts a Palisade node from a validated manifest: opens the store under `.palisade/`, bundles
 * every function, starts the worker processes, then the HTTPS gateway.
 *
 * @example
 * ```ts
 * const node = await startPlatform({ manifest: loadManifest('examples/shop'), logger });
 * ```
 */
export function startPlatform(options: StartOptions): Promise<RunningPlatform> {
  return start(options, 'https');
}

/**
 * Like {@link startPlatform} but serving plain HTTP; refused unless the address is loopback.
 * Weakens security: for local development and benchmarks only.
 */
export function startInsecureLoopbackHttpPlatform(options: StartOptions): Promise<RunningPlatform> {
  return start(options, 'http');
}

async function start(options: StartOptions, scheme: 'https' | 'http'): Promise<RunningPlatform> {
  const { manifest, logger } = options;
  const clock = options.clock ?? systemClock;
  const stateDir = join(manifest.projectDir, '.palisade');
  const state = await openProjectState(manifest.projectDir, { logger, clock, onKeyCreated: (path, kekId) => logger.warn(keyCreatedWarning(path).replace(/\n\s*/g, ' '), { file: path, kekId }) });
  const store = state.store;
  let pool: WorkerPool | undefined;
  let gateway: Gateway | undefined;
  let builtin: BuiltinIssuer | undefined;
  let maintenance: NodeJS.Timeout | undefined;
  let audit: AuditLog | undefined;
  let sinks: { close(): Promise<void> } | undefined;
  let adminEndpoints: ReturnType<typeof builtinAdminEndpoints> | undefined;
  let rotation: SecretRotation | undefined;
  try {
    // Policies are validated before anything starts: a node never serves with a set it cannot check.
    const policy = createPolicyAuthorizer(manifest);
    audit = await openAuditLog({
      stateDir,
      mode: manifest.audit.mode,
      checkpointEvery: manifest.audit.checkpoint.everyEvents,
      checkpointEverySec: manifest.audit.checkpoint.everySeconds,
      ...(manifest.audit.witness === undefined ? {} : { witnessPath: manifest.audit.witness }),
      logger,
    });
    if (manifest.audit.sinks.length > 0) {
      const live: LiveSinkSpec[] = manifest.audit.sinks.map((k) => (k.type === 'file' ? k : { ...k, ...(k.ca === undefined ? {} : { ca: readFileSync(k.ca, 'utf8') }) }));
      sinks = startSinkDelivery({ stateDir, sinks: live, logger, version: PALISADE_VERSION });
    }
    // Each weakening switch is logged once per function that gets it, whether the grant is the
    // function's own or its segment's.
    for (const fn of manifest.functions.values()) {
      for (const grant of egressGrantsOf(manifest, fn.name)) {
        if (grant.allowPrivateNetwork === true) logger.warn('a function may reach private, loopback and link-local addresses through an egress grant', { code: 'PAL_MANIFEST_INSECURE_SETTING', function: fn.name, address: grant.host });
        if (grant.allowInsecureHttp === true) logger.warn('a function may call a host over plain http through an egress grant', { code: 'PAL_MANIFEST_INSECURE_SETTING', function: fn.name, address: grant.host });
      }
    }
    if (manifest.audit.mode === 'async') logger.warn('audit is asynchronous: responses do not wait for their record, and a crash loses queued events', { code: 'PAL_MANIFEST_INSECURE_SETTING' });
    const auditLog0 = audit;
    const appendQuietly = (event: AuditEvent): void => {
      auditLog0.append(event).catch((error: unknown) => logger.error('an audit event could not be recorded', { requestId: event.requestId, action: event.action, code: 'PAL_AUDIT_UNAVAILABLE', reason: error instanceof Error ? error.message : 'unknown' }));
    };
    // Functions read secrets and keep KV data in this node's vault unless a caller supplies its own.
    const resolvers = options.resolvers ?? resolversFromVault(state.vault);
    const bundles = new Map<string, string>();
    for (const fn of manifest.functions.values()) bundles.set(fn.name, (await bundleFunction(fn, manifest.projectDir)).code);
    const prelude = await buildPrelude();
    // esbuild keeps a service process alive after a build; the gateway needs it no more.
    await stopBundler();
    const coldStartMs: Record<string, number> = {};
    const networkIsolation: NetworkIsolation = options.networkIsolation === 'off' ? { on: false, why: 'turned off' } : probeNetworkIsolation();
    if (networkIsolation.on) logger.info('workers run in an empty network namespace');
    else logger.warn(`worker network isolation is not available (${networkIsolation.why}); the egress guard is the only way out`);
    pool = createWorkerPool({
      networkIsolation,
      prelude,
      segments: [...manifest.segments.values()],
      functions: [...manifest.functions.values()],
      bundles,
      authorizeCall: (call) => policy.authorizeCall(call),
      authorizeSecret: (read) => policy.authorizeSecretRead(read),
      secrets: resolvers.secrets,
      kv: resolvers.kv,
      egress: createEgressHandler({
        grants: (fn) => egressGrantsOf(manifest, fn),
        policy,
        // Each attempt waits for its record: the function learns nothing of an unrecorded request.
        record: (event) => (audit as AuditLog).append(event),
        now: () => clock.now(),
        onRefused: (e, requestId, code) => logger.warn('outbound request refused', { requestId, function: e.function, address: e.host ?? '', reason: e.reason, code }),
        ...options.egress,
      }),
      events: {
        onFunctionLog: (line) => logger.info(line.message, { function: line.fn, requestId: line.requestId, level: line.level }),
        onWorkerExit: (e) => {
          if (e.signal !== null || e.code !== 0) logger.error('worker process exited; restarting', { segment: e.segment, workerPid: e.pid, exitCode: e.code ?? -1, signal: e.signal ?? '', count: e.inFlight, code: 'PAL_RUNTIME_WORKER_CRASHED', reason: e.lastError });
        },
        onWorkerReady: (r) => Object.assign(coldStartMs, r.coldStartMs),
        onWorkerFault: (f) => logger.error('worker process broke the protocol; killed and restarting', { segment: f.segment, workerPid: f.pid, code: 'PAL_RUNTIME_WORKER_FAULT', reason: f.why }),
        onLoadFailing: (f) =>
          logger.error(`function \`${f.fn}\` keeps failing to load; restarts backed off`, { segment: f.segment, function: f.fn, count: f.failures, durationMs: f.retryInMs, code: 'PAL_RUNTIME_LOAD_FAILING', reason: f.message.slice(0, 300) }),
        onBindingCall: (c) => {
          if (!c.allowed) logger.warn('binding call refused', { requestId: c.requestId, function: c.caller, action: c.binding, reason: c.reason, code: 'PAL_RUNTIME_BINDING_DENIED' });
          // On the chain; the call itself does not wait for its record.
          appendQuietly(bindingCallAuditEvent(c, clock.now()));
        },
        onSecretRead: async (r) => {
          if (!r.allowed) logger.warn('secret read refused', { requestId: r.requestId, function: r.fn, action: r.secret, reason: r.reason, code: 'PAL_RUNTIME_SECRET_DENIED' });
          const event = secretReadAuditEvent(r, clock.now());
          // A read the gateway answers waits for its record (the value is handed out only after);
          // reads answered from the worker's cache are recorded after the fact.
          if (r.cached) appendQuietly(event);
          else await (audit as AuditLog).append(event);
        },
      },
    });
    await pool.start();

    const config: GatewayConfig = {
      host: options.host ?? manifest.gateway.host,
      port: options.port ?? manifest.gateway.port,
      routes: manifest.routes,
      limits: manifest.gateway.limits,
      ...(manifest.gateway.origin === undefined ? {} : { origin: manifest.gateway.origin }),
      ...(manifest.gateway.rateLimit === undefined ? {} : { rateLimit: manifest.gateway.rateLimit }),
    };
    const workers = pool;
    const identity = manifest.identity;
    const hasIdentity = identity.issuers.length > 0 || identity.apiKeys.enabled || identity.builtin.enabled || identity.mtls !== undefined;
    const crlSerials = identity.mtls === undefined ? new Set<string>() : await loadCrlSerials(identity.mtls.ca, identity.mtls.crls, clock);
    const revocations = new RevocationList(store.revocations, clock, { certificates: store.certificateRevocations, crlSerials });
    await revocations.refresh(true);
    if (identity.builtin.enabled) builtin = await createBuiltinIssuer(store, identity.builtin, clock, { onRevoke: (jti) => revocations.addLocal(jti) });
    for (const i of identity.issuers) {
      if (i.allowInsecureHttpIssuer) logger.warn('an identity issuer is reached over plain http (loopback only)', { code: 'PAL_MANIFEST_INSECURE_SETTING', address: i.issuer });
      if (i.allowInsecureUntypedTokens) logger.warn('an identity issuer accepts tokens without `typ: at+jwt`; id tokens pass as access tokens', { code: 'PAL_MANIFEST_INSECURE_SETTING', address: i.issuer });
    }
    // Pruning of expired revocations and idle login counters runs here, never on the request path.
    maintenance = setInterval(() => void pruneIdentityState(store, clock.now()).catch((error: unknown) => logger.warn('pruning identity state failed; retrying later', { code: 'PAL_STORE_UNAVAILABLE', reason: error instanceof Error ? error.message : 'unknown' })), 60_000);
    maintenance.unref();
    const issuers: OidcIssuer[] = identity.issuers.map((i) => createOidcIssuer(i, { clock, jwksCooldownMs: i.jwksCooldownSec * 1000 }));
    if (builtin !== undefined) issuers.unshift(builtin);
    const requestAuthenticator = createAuthenticator({
      issuers,
      ...(identity.apiKeys.enabled ? { verifyApiKey: createApiKeyVerifier(store.apiKeys, clock) } : {}),
      revocations,
      clock,
      ...(identity.mtls === undefined ? {} : { mtls: { principalFrom: identity.mtls.principalFrom } }),
    });
    // Rotation functions are addressed at the node's own origin (known once it listens).
    let origin = manifest.gateway.origin ?? 'https://localhost';
    rotation = startSecretRotation({ manifest, pool: workers, vault: state.vault, store: store.vault, audit: auditLog0, logger, clock, origin: () => origin });
    const rotations = rotation;
    const admin = builtinAdminEndpoints({ store, clock, stateDir, secrets: { admin: vaultSecretsAdmin(manifest, state.vault, auditLog0, clock), rotateNow: (name, requestId) => rotations.rotateNow(name, requestId) } });
    adminEndpoints = admin;
    const allMethods = [...(identity.builtin.enabled ? [BUILTIN_METHOD] : []), ...identity.issuers.map((i) => i.name), ...(identity.apiKeys.enabled ? [API_KEY_METHOD] : []), ...(identity.mtls === undefined ? [] : [MTLS_METHOD])];
    const deps: GatewayDeps = {
      invoker: { invoke: (fn, req) => workers.invoke(fn, req) },
      authenticator: hasIdentity ? { authenticate: ({ headers, route, clientCertificate }) => requestAuthenticator.authenticate(headers, route.auth, clientCertificate) } : rejectAllAuthenticator,
      authorizer: hasIdentity ? { authorize: (principal, route, facts) => policy.authorizeRoute(principal, route, facts), authorizeAdmin: (principal, action, resource, facts) => policy.authorizeAdmin(principal, action, resource, facts) } : denyAllAuthorizer,
      audit: withDecisionLog(audit, logger),
      logger,
      clock,
      ...(builtin === undefined ? {} : { endpoints: createAuthEndpoints(builtin) }),
      // The admin API accepts every method the node accepts; Cedar decides what each caller may do.
      ...(hasIdentity ? { admin: createAdminApi(admin.endpoints, ({ headers, clientCertificate }) => requestAuthenticator.authenticate(headers, allMethods, clientCertificate)) } : {}),
    };
    let caFile: string | undefined;
    if (scheme === 'https') {
      const serverTls = manifest.gateway.tls.mode === 'auto' ? await ensureLocalTls(stateDir, clock) : loadTlsFiles(manifest.gateway.tls.cert, manifest.gateway.tls.key);
      const tls = identity.mtls === undefined ? serverTls : { ...serverTls, clientCa: readFileSync(identity.mtls.ca, 'utf8') };
      caFile = tls.caFile;
      gateway = createGateway(config, tls, deps);
    } else {
      gateway = createInsecureLoopbackHttpGateway(config, deps);
    }
    const address = await gateway.listen();
    const digest = createHash('sha256').update(readFileSync(manifest.file)).digest('hex');
    await store.deployments.recordDeployment({ manifestDigest: digest, functions: [...manifest.functions.keys()], startedAt: clock.now() });
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `${scheme}://${host}:${address.port}`;
    builtin?.setIssuer(`${url}${AUTH_ENDPOINT_PREFIX}`);
    if (manifest.gateway.origin === undefined) origin = url;
    logger.info('listening', { address: url, count: manifest.functions.size });
    const running = gateway;
    const auditLog = audit;
    const liveSinks = sinks;
    const adminReader = adminEndpoints;
    return {
      url,
      caFile,
      address,
      pool: workers,
      vault: state.vault,
      networkIsolation,
      coldStartMs,
      rotation: rotations,
      reloadPolicies(next) {
        policy.reload(next);
        // Cached secrets were allowed under the old set: every worker drops them.
        workers.secretsPolicyChanged();
        return { policies: policy.set.policies.length, needsRestart: restartOnlyChanges(manifest, next) };
      },
      async close() {
        clearInterval(maintenance);
        rotations.stop();
        await running.close();
        await builtin?.close();
        await workers.close();
        await liveSinks?.close();
        adminReader?.close();
        await auditLog.close();
        await state.close();
      },
    };
  } catch (error) {
    clearInterval(maintenance);
    rotation?.stop();
    await builtin?.close().catch(() => undefined);
    await gateway?.close(0).catch(() => undefined);
    await pool?.close().catch(() => undefined);
    await sinks?.close().catch(() => undefined);
    adminEndpoints?.close();
    await audit?.close().catch(() => undefined);
    await state.close().catch(() => undefined);
    throw error;
  }
}

/**
 * The audit log, plus one operator log line per decision once its event is recorded. The log
 * line is for operators (and their log pipeline); the record of what happened is the chain.
 */
function withDecisionLog(audit: AuditSink, logger: Logger): AuditSink {
  return {
    async append(event: AuditEvent) {
      await audit.append(event);
      logger.info('decision', { requestId: event.requestId, method: event.method, action: event.action, route: event.route ?? '', status: event.status, reason: event.reason, ...(event.code === undefined ? {} : { code: event.code }), ...(event.authFailure === undefined ? {} : { authFailure: event.authFailure }), ...(event.policyIds === undefined || event.policyIds.length === 0 ? {} : { policyIds: event.policyIds.join(' ') }), durationMs: event.durationMs });
    },
  };
}

/**
 * What differs between two manifests outside authorization: routes (by method and path, and the
 * settings the gateway compiled at start), functions, segments and identity. Policies follow a
 * reload; these do not.
 */
function restartOnlyChanges(before: Manifest, after: Manifest): string[] {
  // Where a key sits in the file, and what authorization owns, do not count.
  const ignored = new Set(['line', 'column', 'index', 'allow', 'mfa', 'secretLines', 'allowCallsFrom', 'allowSecretReadsFrom']);
  const data = (v: unknown): string => JSON.stringify(v, (key, value: unknown) => (ignored.has(key) ? undefined : value instanceof Map ? [...value.entries()].sort() : value));
  const out: string[] = [];
  if (data([...before.routes].map(data).sort()) !== data([...after.routes].map(data).sort())) out.push('routes');
  if (data(before.functions) !== data(after.functions)) out.push('functions');
  if (data(before.segments) !== data(after.segments)) out.push('segments');
  if (data(before.identity) !== data(after.identity)) out.push('identity');
  return out;
}
