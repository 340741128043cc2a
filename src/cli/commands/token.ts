import { readFileSync } from 'node:fs';
import { inspectToken, readStoredCredentials } from '../../platform/index.js';
import { PalisadeError } from '../../kernel/index.js';
import { exitCodes, type Command } from '../cli-io.js';

/** `palisade token inspect`: decodes and verifies a token; never prints it. */
export const tokenCommand: Command = {
  name: 'token',
  summary: 'decode and verify an access token',
  usage: 'palisade token inspect [--stdin] [--issuer URL] [--audience AUD] [--ca FILE] [--json]',
  help: [
    'Verifies the token stored by `palisade login` (or one read from standard input with --stdin)',
    'against an issuer you name (default: the stored login\'s gateway), then prints its header and',
    'claims. The token itself is never printed. Exit 0 when valid, 2 when not.',
  ].join('\n'),
  options: {
    stdin: { type: 'boolean', description: 'read the token from standard input' },
    issuer: { type: 'string', description: 'the issuer to verify against' },
    audience: { type: 'string', description: 'the expected audience (default: palisade, the built-in issuer)' },
    ca: { type: 'string', description: 'CA file to trust when fetching the issuer keys' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    if (ctx.args[0] !== 'inspect') throw new PalisadeError('PAL_CLI_USAGE', '`palisade token` needs `inspect`');
    const stored = readStoredCredentials();
    let token: string | undefined = stored?.accessToken;
    if (ctx.flags.stdin === true) {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
      token = Buffer.concat(chunks).toString('utf8').trim();
    }
    if (token === undefined || token === '') throw new PalisadeError('PAL_CLI_USAGE', 'no token: run `palisade login`, or pipe one in with --stdin');
    const issuer = typeof ctx.flags.issuer === 'string' ? ctx.flags.issuer : stored?.issuer;
    if (issuer === undefined) throw new PalisadeError('PAL_CLI_USAGE', '--issuer is required when there is no stored login');
    const ca = typeof ctx.flags.ca === 'string' ? readFileSync(ctx.flags.ca, 'utf8') : undefined;
    const report = await inspectToken(token, { issuer, audience: typeof ctx.flags.audience === 'string' ? ctx.flags.audience : 'palisade', ...(ca === undefined ? {} : { ca }) });
    if (ctx.json) {
      ctx.io.out(JSON.stringify(report, null, 2));
    } else {
      ctx.io.out(report.valid ? `valid token from ${issuer}` : `INVALID token (${report.reason ?? 'unknown'}) for issuer ${issuer}`);
      ctx.io.out(`header: ${JSON.stringify(report.header)}`);
      for (const [k, v] of Object.entries(report.claims)) ctx.io.out(`  ${k}: ${JSON.stringify(v)}${(k === 'exp' || k === 'iat' || k === 'auth_time') && typeof v === 'number' ? `  (${new Date(v * 1000).toISOString()})` : ''}`);
      if (report.expiresIn !== undefined) ctx.io.out(`expires in: ${report.expiresIn}`);
    }
    return report.valid ? exitCodes.ok : exitCodes.denied;
  },
};
