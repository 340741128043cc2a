import { loadManifest } from '../../manifest/index.js';
import { revocationAdmin } from '../../platform/index.js';
import { PalisadeError } from '../../kernel/index.js';
import { exitCodes, type Command } from '../cli-io.js';

/** `palisade certs revoke|revoked`: revoke client certificates (mTLS) on running nodes. */
export const certsCommand: Command = {
  name: 'certs',
  summary: 'revoke client certificates (mTLS) and list revoked ones',
  usage: 'palisade certs revoke (--fingerprint SHA256 | --issuer DN --serial HEX) [DIR] [--json] | palisade certs revoked [DIR] [--json]',
  help: [
    'Client certificates revoked here are refused on every request within 250 ms, besides',
    'those listed in the CRL files of `identity.mtls.crls`.',
    '',
    '  revoke --fingerprint AB:CD:…            by SHA-256 fingerprint (`openssl x509 -noout -fingerprint -sha256`)',
    '  revoke --issuer DN --serial 0A:1B:…     by issuer name and serial number; the issuer in certificate',
    '                                          order, comma separated, such as `O=Example,CN=Client CA`',
    '  revoked                                 list the certificates revoked here',
  ].join('\n'),
  options: {
    fingerprint: { type: 'string', description: 'SHA-256 fingerprint of the certificate' },
    issuer: { type: 'string', description: 'issuer distinguished name, such as `O=Example,CN=Client CA`' },
    serial: { type: 'string', description: 'serial number in hex' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const [verb, dir = '.'] = ctx.args;
    if (verb === 'revoked') {
      const list = await revocationAdmin.listCertificates(loadManifest(dir));
      if (ctx.json) ctx.io.out(JSON.stringify(list, null, 2));
      else if (list.length === 0) ctx.io.out('no revoked certificates');
      else for (const c of list) ctx.io.out(c.fingerprint256 !== undefined ? `fingerprint ${c.fingerprint256}` : `issuer ${c.issuer} serial ${c.serial}`);
      return exitCodes.ok;
    }
    if (verb !== 'revoke') throw new PalisadeError('PAL_CLI_USAGE', '`palisade certs` needs `revoke` or `revoked`');
    const { fingerprint, issuer, serial } = ctx.flags;
    const byFingerprint = typeof fingerprint === 'string';
    const bySerial = typeof issuer === 'string' && typeof serial === 'string';
    if (byFingerprint === bySerial || (!bySerial && (issuer !== undefined || serial !== undefined))) throw new PalisadeError('PAL_CLI_USAGE', '`palisade certs revoke` needs --fingerprint, or --issuer with --serial');
    const entry = byFingerprint ? { fingerprint256: fingerprint } : { issuer: issuer as string, serial: serial as string };
    await revocationAdmin.revokeCertificate(loadManifest(dir), entry);
    ctx.io.out(ctx.json ? JSON.stringify({ revoked: entry }) : `revoked ${byFingerprint ? `certificate ${fingerprint}` : `serial ${String(serial)} of ${String(issuer)}`}`);
    return exitCodes.ok;
  },
};
