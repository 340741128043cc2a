import type { ClientCertificate, Clock } from '../kernel/index.js';
import type { CertificateRevocationStore, RevocationStore } from '../store/index.js';

/**
 * The revoked `jti`s, the "issued before" cut-off and the revoked client certificates, in
 * memory, reloaded from the store whenever another process (the CLI) changed it; also the signal
 * to drop cached verifications after any such change. The check runs at most every `pollMs`.
 *
 * INVARIANT: the change counter is marked as seen only after a load succeeded, so a failed load
 * (such as `SQLITE_BUSY`) is retried on the next request instead of leaving revoked tokens valid
 * until some other write. Until the first successful load nothing counts as loaded and
 * {@link isLoaded} is false: callers fail closed.
 */
export class RevocationList {
  #revoked = new Set<string>();
  #issuedBeforeMs = 0;
  #certFingerprints = new Set<string>();
  #certSerials = new Set<string>();
  /** Revocations made by this process since the last load (visible before the next poll). */
  readonly #local = new Set<string>();
  #seen: string | undefined;
  #loaded = false;
  #checkedAt = -Infinity;
  readonly #store: RevocationStore;
  readonly #certificates: CertificateRevocationStore | undefined;
  readonly #clock: Clock;
  readonly #pollMs: number;
  /** Certificates revoked by CRL files: `issuer|serial` keys, loaded at start. */
  readonly #crlSerials: ReadonlySet<string>;

  constructor(store: RevocationStore, clock: Clock, options: { pollMs?: number; certificates?: CertificateRevocationStore; crlSerials?: ReadonlySet<string> } = {}) {
    this.#store = store;
    this.#clock = clock;
    this.#pollMs = options.pollMs ?? 250;
    this.#certificates = options.certificates;
    this.#crlSerials = options.crlSerials ?? new Set();
  }

  /**
   * Reloads from the store when it is due and changed. Returns `false` at once (no promise) when
   * not due, so the request path pays no await; otherwise a promise of whether the set changed.
   * The promise rejects when the store could not be read.
   */
  refreshIfDue(): false | Promise<boolean> {
    if (this.#loaded && this.#clock.now() - this.#checkedAt < this.#pollMs) return false;
    return this.refresh();
  }

  /**
   * Reloads from the store when it changed (or always, with `force`). Resolves true when
   * anything in the store may have changed (a revocation, a disabled user, a reset password), so
   * callers drop what they cached; rejects when the store could not be read.
   */
  async refresh(force = false): Promise<boolean> {
    const now = this.#clock.now();
    const counter = this.#store.changeCounter();
    if (!force && this.#loaded && counter === this.#seen) {
      this.#checkedAt = now;
      return false;
    }
    // Local revocations made while the load is in flight may be missing from it: keep those.
    const coveredLocal = [...this.#local];
    const [jtis, cutoff, certs] = await Promise.all([this.#store.listActive(now), this.#store.issuedBefore(), this.#certificates?.list() ?? Promise.resolve([])]);
    this.#revoked = new Set(jtis);
    this.#issuedBeforeMs = cutoff;
    this.#certFingerprints = new Set(certs.flatMap((c) => (c.fingerprint256 === undefined ? [] : [c.fingerprint256])));
    this.#certSerials = new Set(certs.flatMap((c) => (c.issuer === undefined ? [] : [certificateSerialKey(c.issuer, c.serial)])));
    for (const jti of coveredLocal) this.#local.delete(jti);
    // Marked seen only now: a failure above leaves the list due and unseen.
    this.#seen = counter;
    this.#loaded = true;
    this.#checkedAt = now;
    return true;
  }

  /** True once the list was loaded at least once. */
  get isLoaded(): boolean {
    return this.#loaded;
  }

  /** Records a revocation made by this process, effective at once (the store has it too). */
  addLocal(jti: string): void {
    this.#local.add(jti);
  }

  /** True when the token id is revoked. */
  has(jti: string): boolean {
    return this.#revoked.has(jti) || this.#local.has(jti);
  }

  /** True when a token issued at `iatSec` falls before the operator's "revoke all" cut-off. */
  issuedBeforeCutoff(iatSec: number): boolean {
    return iatSec * 1000 < this.#issuedBeforeMs;
  }

  /** True when a client certificate is revoked: by fingerprint, or by issuer and serial (store or CRL). */
  isCertificateRevoked(cert: Pick<ClientCertificate, 'fingerprint256' | 'issuer' | 'serialNumber'>): boolean {
    if (this.#certFingerprints.has(normaliseHex(cert.fingerprint256))) return true;
    if (cert.issuer === undefined || cert.serialNumber === undefined) return false;
    const key = certificateSerialKey(cert.issuer, cert.serialNumber);
    return this.#certSerials.has(key) || this.#crlSerials.has(key);
  }
}

/** The key of a certificate by issuer and serial: the issuer name as given, the serial as upper-case hex. */
export function certificateSerialKey(issuer: string, serial: string): string {
  return `${issuer}|${normaliseHex(serial).replace(/^0+(?=.)/, '')}`;
}

function normaliseHex(value: string): string {
  return value.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
}
