import { systemClock, type Clock } from '../kernel/index.js';
import type { Manifest } from '../manifest/index.js';
import { revokeCertificate, revokeTokens, type TokenRevocationReport, type TokenRevocationTarget } from '../identity/index.js';
import type { CertificateRevocation } from '../store/index.js';
import { withProjectStore } from './api-key-admin.js';

/** Token and certificate revocation in a project's store, for the CLI. */
export const revocationAdmin = {
  revokeTokens: (manifest: Manifest, target: TokenRevocationTarget, clock: Clock = systemClock): Promise<TokenRevocationReport> => withProjectStore(manifest, (s) => revokeTokens(s, target, clock)),
  revokeCertificate: (manifest: Manifest, entry: CertificateRevocation, clock: Clock = systemClock): Promise<void> => withProjectStore(manifest, (s) => revokeCertificate(s.certificateRevocations, entry, clock)),
  listCertificates: (manifest: Manifest): Promise<ReadonlyArray<CertificateRevocation & { readonly revokedAt: number }>> => withProjectStore(manifest, (s) => s.certificateRevocations.list()),
};
