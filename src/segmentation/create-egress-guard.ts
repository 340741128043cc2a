import { request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { PalisadeError, systemClock, type Clock } from '../kernel/index.js';
import { classifyAddress } from './classify-address.js';
import { systemResolver } from './dns-resolvers.js';
import { BODY_HEADERS, checkMethod, CROSS_ORIGIN_STRIPPED, prepareHeaders, REDIRECT_STATUSES, responseHeaders, toOutgoing, type HeaderList } from './egress-headers.js';
import { checkGrants, parseEgressTarget, type EgressTarget } from './egress-target.js';
import {
  EgressError,
  type DnsResolver,
  type EgressAuthorizer,
  type EgressEvent,
  type EgressGrant,
  type EgressReason,
  type EgressRequest,
  type EgressResult,
  type ResolvedAddress,
} from './egress-types.js';

/** Bounds of one outbound request; all required, there are no silent defaults. */
export interface EgressLimits {
  /** Largest response body, in bytes; the connection is closed as soon as it is exceeded. */
  readonly maxResponseBytes: number;
  /** Largest request body, in bytes. */
  readonly maxRequestBytes: number;
  /** Total time for resolution, connections, redirects and the body together. */
  readonly timeoutMs: number;
  /** Redirects followed before giving up (0: none). */
  readonly maxRedirects: number;
}

/** Options of {@link createEgressGuard}. */
export interface EgressGuardOptions {
  readonly limits: EgressLimits;
  /** The policy decision for each attempt (Cedar action `egress`); a throw is a deny. */
  readonly authorize: EgressAuthorizer;
  /** Name resolution; default {@link systemResolver}. Called once per attempt. */
  readonly resolve?: DnsResolver;
  /**
   * Receives one event per attempt, allowed or denied. A throw fails the request (fail closed:
   * an attempt that cannot be recorded is not answered).
   */
  readonly events?: { onEgress(event: EgressEvent): void };
  readonly clock?: Clock;
  /**
   * Trust anchors (PEM) that replace the bundled Mozilla roots for `https:`, for a private PKI.
   * Certificates are always verified against the host name; there is no switch to turn that off.
   */
  readonly tls?: { readonly ca?: string | readonly string[] };
}

/** The egress guard: the only way a function's outbound request leaves the gateway. */
export interface EgressGuard {
  /**
   * Makes `request` on behalf of function `fn` if `grants` and policy allow every hop, and
   * answers with the whole response, or rejects with an {@link EgressError}.
   */
  fetch(fn: string, grants: readonly EgressGrant[], request: EgressRequest, signal?: AbortSignal): Promise<EgressResult>;
}

function originOf(target: EgressTarget): string {
  return `${target.scheme}://${target.host}:${target.port}`;
}

/** Rejects when `signal` aborts, with the abort reason. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}

/**
 * Creates the egress guard. Every attempt (the function's request and each redirect) is parsed
 * with the WHATWG URL parser, matched against the grants on its canonical host and port,
 * decided by policy, resolved once, checked address by address, and sent to exactly the
 * checked address (the connection is pinned: no second lookup, no DNS rebinding), with SNI and
 * certificate verification against the host name.
 *
 * @example
 * ```ts
 * const guard = createEgressGuard({
 *   limits: { maxResponseBytes: 1 << 20, maxRequestBytes: 1 << 20, timeoutMs: 5000, maxRedirects: 3 },
 *   authorize: (q) => authorizer.egress(q),
 *   events: { onEgress: (e) => audit.record(e) },
 * });
 * const res = await guard.fetch('billing', [{ host: 'api.stripe.com' }], { method: 'GET', url: 'https://api.stripe.com/v1/charges', headers: [], body: null });
 * ```
 */
export function createEgressGuard(options: EgressGuardOptions): EgressGuard {
  const { limits, authorize } = options;
  // A limit that is not a sane integer would silently disable itself (setTimeout overflows past 2^31 - 1 ms).
  const bounded = (value: number, min: number, max: number) => Number.isInteger(value) && value >= min && value <= max;
  if (!bounded(limits.maxResponseBytes, 1, 2 ** 31) || !bounded(limits.maxRequestBytes, 0, 2 ** 31) || !bounded(limits.timeoutMs, 1, 2 ** 31 - 1) || !bounded(limits.maxRedirects, 0, 20)) {
    throw new PalisadeError('PAL_INTERNAL', 'egress limits must be integers: sizes 1 byte to 2 GiB, timeout 1 ms to 24 days, redirects 0 to 20');
  }
  const resolve = options.resolve ?? systemResolver;
  const clock = options.clock ?? systemClock;
  const ca = options.tls?.ca === undefined ? undefined : typeof options.tls.ca === 'string' ? options.tls.ca : [...options.tls.ca];

  async function decide(fn: string, target: EgressTarget): Promise<readonly string[]> {
    let decision;
    try {
      decision = await authorize({ function: fn, host: target.host, port: target.port });
    } catch (cause) {
      // Deny on error (CONVENTIONS §11).
      throw new EgressError('policy-denied', `egress to \`${target.host}\` was denied by policy`, { cause });
    }
    const policyIds = Array.isArray(decision?.policyIds) ? decision.policyIds.filter((id): id is string => typeof id === 'string') : [];
    // Anything but an explicit allow is a deny, a malformed answer included.
    if (decision?.effect !== 'allow') throw Object.assign(new EgressError('policy-denied', `egress to \`${target.host}\` was denied by policy`), { policyIds });
    return policyIds;
  }

  /** Resolves once and checks every answer; the first answer is the one connected to. */
  async function resolveChecked(target: EgressTarget, allowPrivateNetwork: boolean, signal: AbortSignal, facts: { address?: string }): Promise<ResolvedAddress> {
    let answers: readonly ResolvedAddress[];
    if (target.literal !== 0) {
      answers = [{ address: target.host, family: target.literal }];
    } else {
      try {
        answers = await raceAbort(resolve(target.host), signal);
      } catch (cause) {
        if (signal.aborted) throw signal.reason;
        throw new EgressError('dns-failed', `cannot resolve \`${target.host}\``, { cause });
      }
    }
    // A resolver is input too: anything but a list of IP addresses is a failure, not a guess.
    if (!Array.isArray(answers) || answers.length === 0 || answers.some((a) => typeof a?.address !== 'string' || isIP(a.address) === 0)) {
      throw new EgressError('dns-failed', `cannot resolve \`${target.host}\``);
    }
    const first = answers[0] as ResolvedAddress;
    facts.address = first.address;
    if (!allowPrivateNetwork) {
      // SSRF: one private answer refuses the name; picking the public one would let an attacker
      // who controls the zone race the two.
      const bad = answers.find((a) => classifyAddress(a.address).kind === 'private');
      if (bad !== undefined) {
        facts.address = bad.address;
        throw new EgressError('private-address', `egress to \`${target.host}\` resolves to a private address`);
      }
    }
    return { address: first.address, family: isIP(first.address) === 6 ? 6 : 4 };
  }

  /** Sends one attempt to the pinned address; resolves with the response head. */
  function send(target: EgressTarget, pinned: ResolvedAddress, method: string, headers: OutgoingHttpHeaders, body: Uint8Array | null, signal: AbortSignal): { req: ClientRequest; response: Promise<IncomingMessage> } {
    // INVARIANT: the socket connects to `pinned` and nothing else. Node calls `lookup` for a
    // name (never for an IP literal); answering with the checked address closes the window in
    // which a second resolution could return another (private) one.
    const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
      const cb = callback as (error: NodeJS.ErrnoException | null, address: string | Array<{ address: string; family: number }>, family?: number) => void;
      if (hostname !== target.host) {
        cb(Object.assign(new Error('unexpected lookup'), { code: 'EPALISADEPIN' }), '', 0);
        return;
      }
      if (typeof lookupOptions === 'object' && lookupOptions.all === true) cb(null, [{ address: pinned.address, family: pinned.family }]);
      else cb(null, pinned.address, pinned.family);
    };
    const requestOptions: RequestOptions & { servername?: string; ca?: string | string[] } = {
      host: target.host,
      port: target.port,
      method,
      path: `${target.url.pathname}${target.url.search}`,
      headers,
      agent: false,
      lookup,
      setHost: false,
      ...(target.scheme === 'https' && target.literal === 0 ? { servername: target.host } : {}),
      ...(target.scheme === 'https' && ca !== undefined ? { ca } : {}),
    };
    const req = (target.scheme === 'https' ? httpsRequest : httpRequest)(requestOptions);
    const response = new Promise<IncomingMessage>((resolveResponse, reject) => {
      const onAbort = () => {
        reject(signal.reason as Error);
        req.destroy();
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (cause) => {
        signal.removeEventListener('abort', onAbort);
        reject(signal.aborted ? (signal.reason as Error) : new EgressError('connect-failed', `egress connection to \`${target.host}\` failed`, { cause }));
      });
      req.on('response', (res) => {
        signal.removeEventListener('abort', onAbort);
        resolveResponse(res);
      });
    });
    req.end(body === null ? undefined : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    return { req, response };
  }

  /** Reads the body, closing the connection as soon as it exceeds the limit. */
  function readBody(req: ClientRequest, res: IncomingMessage, target: EgressTarget, signal: AbortSignal): Promise<Uint8Array> {
    const max = limits.maxResponseBytes;
    const tooLarge = () => new EgressError('too-large', `egress response from \`${target.host}\` exceeds ${max} bytes`);
    return new Promise<Uint8Array>((resolveBody, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        res.destroy();
        req.destroy();
        reject(error);
      };
      const onAbort = () => fail(signal.reason as Error);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > max) return fail(tooLarge());
      res.on('data', (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size > max) return fail(tooLarge());
        chunks.push(chunk);
      });
      res.on('error', (cause) => fail(new EgressError('connect-failed', `egress response from \`${target.host}\` was cut off`, { cause })));
      res.on('aborted', () => fail(new EgressError('connect-failed', `egress response from \`${target.host}\` was cut off`)));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        // INVARIANT: the body owns its whole ArrayBuffer. A view into Node's shared Buffer pool
        // would hand whoever transfers `body.buffer` bytes of other requests.
        const whole = new Uint8Array(size);
        let offset = 0;
        for (const chunk of chunks) {
          whole.set(chunk, offset);
          offset += chunk.byteLength;
        }
        resolveBody(whole);
      });
    });
  }

  async function run(fn: string, grants: readonly EgressGrant[], request: EgressRequest, signal: AbortSignal): Promise<EgressResult> {
    // Unvalidated until checked: an event never carries the function's raw method string.
    let method: string | undefined;
    let body = request.body;
    let headers: HeaderList | undefined;
    let raw = request.url;
    let base: URL | undefined;
    let previous: EgressTarget | undefined;
    for (let hop = 0; ; hop++) {
      const time = clock.now();
      const facts: { host?: string; port?: number; address?: string; policyIds: readonly string[]; status?: number } = { policyIds: [] };
      let emitted = false;
      const emit = (reason: EgressReason) => {
        emitted = true;
        const event: EgressEvent = {
          time,
          function: fn,
          ...(method === undefined ? {} : { method }),
          ...(facts.host === undefined ? {} : { host: facts.host }),
          ...(facts.port === undefined ? {} : { port: facts.port }),
          ...(facts.address === undefined ? {} : { address: facts.address }),
          decision: reason === 'allowed' ? 'allow' : 'deny',
          reason,
          policyIds: facts.policyIds,
          ...(facts.status === undefined ? {} : { status: facts.status }),
          hop,
          durationMs: Math.max(0, clock.now() - time),
        };
        options.events?.onEgress(event);
      };
      let req: ClientRequest | undefined;
      try {
        method ??= checkMethod(request.method);
        const target = parseEgressTarget(raw, base);
        facts.host = target.host;
        facts.port = target.port;
        if (headers === undefined) {
          headers = prepareHeaders(request.headers, target);
          if (body !== null && body.byteLength > limits.maxRequestBytes) throw new EgressError('bad-request', `egress request body exceeds ${limits.maxRequestBytes} bytes`);
        } else if (previous !== undefined && originOf(previous) !== originOf(target)) {
          const kept = headers.filter(([name]) => !CROSS_ORIGIN_STRIPPED.has(name));
          headers = kept;
        }
        const verdict = checkGrants(grants, target);
        if (!verdict.ok) {
          throw new EgressError(verdict.reason, verdict.reason === 'insecure-scheme' ? `egress to \`${target.host}\` over plain http is not granted` : `egress to \`${target.host}:${target.port}\` is not granted`);
        }
        try {
          facts.policyIds = await raceAbort(decide(fn, target), signal);
        } catch (error) {
          const ids = (error as { policyIds?: readonly string[] }).policyIds;
          if (ids !== undefined) facts.policyIds = ids;
          throw error;
        }
        const pinned = await resolveChecked(target, verdict.allowPrivateNetwork, signal, facts);
        const sent = send(target, pinned, method, toOutgoing(headers, target, body), body, signal);
        req = sent.req;
        const res = await sent.response;
        facts.status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (REDIRECT_STATUSES.has(facts.status) && typeof location === 'string') {
          res.destroy();
          req.destroy();
          if (hop >= limits.maxRedirects) throw new EgressError('too-many-redirects', `egress exceeded ${limits.maxRedirects} redirects`);
          if (facts.status === 303 ? method !== 'HEAD' : (facts.status === 301 || facts.status === 302) && method === 'POST') {
            method = 'GET';
            body = null;
            headers = headers.filter(([name]) => !BODY_HEADERS.has(name));
          }
          emit('allowed');
          raw = location;
          base = target.url;
          previous = target;
          continue;
        }
        const bytes = await readBody(req, res, target, signal);
        emit('allowed');
        return { status: facts.status, statusText: res.statusMessage ?? '', headers: responseHeaders(res), body: bytes, url: target.url.href, redirects: hop };
      } catch (error) {
        req?.destroy();
        // The event sink refused the record: fail closed, without a second event for the hop.
        if (emitted) throw error;
        const failure = error instanceof EgressError ? error : signal.aborted && signal.reason instanceof EgressError ? signal.reason : new EgressError('connect-failed', 'egress request failed', { cause: error });
        emit(failure.reason);
        throw failure;
      }
    }
  }

  return {
    async fetch(fn, grants, request, signal) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new EgressError('timeout', `egress did not finish within ${limits.timeoutMs} ms`)), limits.timeoutMs);
      const onCancel = () => controller.abort(new EgressError('cancelled', 'egress request was cancelled'));
      if (signal?.aborted === true) onCancel();
      else signal?.addEventListener('abort', onCancel, { once: true });
      try {
        return await run(fn, grants, request, controller.signal);
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onCancel);
      }
    },
  };
}
