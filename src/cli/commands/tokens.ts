import { loadManifest } from '../../manifest/index.js';
import { revocationAdmin } from '../../platform/index.js';
import { PalisadeError } from '../../kernel/index.js';
import { exitCodes, type Command } from '../cli-io.js';

/** `palisade tokens revoke --jti ID | --user USERNAME | --all [DIR]`: revoke tokens on running nodes. */
export const tokensCommand: Command = {
  name: 'tokens',
  summary: 'revoke access and refresh tokens',
  usage: 'palisade tokens revoke (--jti ID | --user USERNAME | --all) [DIR] [--json]',
  help: [
    'Revokes tokens in the project store; running nodes refuse them within 250 ms.',
    '',
    '  revoke --jti ID        one access token (its `jti` claim), from any issuer',
    '  revoke --user NAME     every token of a built-in user: access tokens and refresh tokens',
    '  revoke --all           every token issued until now, from every issuer, and every refresh token',
    '',
    'Exactly one of --jti, --user and --all. A user logs out with POST /_palisade/auth/logout.',
  ].join('\n'),
  options: {
    jti: { type: 'string', description: 'the `jti` of the access token to revoke' },
    user: { type: 'string', description: 'a built-in username: revoke all of its tokens' },
    all: { type: 'boolean', description: 'revoke every token issued until now' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const [verb, dir = '.'] = ctx.args;
    if (verb !== 'revoke') throw new PalisadeError('PAL_CLI_USAGE', '`palisade tokens` needs `revoke`');
    const jti = ctx.flags.jti;
    const user = ctx.flags.user;
    const all = ctx.flags.all === true;
    const given = [jti !== undefined, user !== undefined, all].filter(Boolean).length;
    if (given !== 1) throw new PalisadeError('PAL_CLI_USAGE', '`palisade tokens revoke` needs exactly one of --jti, --user and --all');
    if (jti !== undefined && typeof jti !== 'string') throw new PalisadeError('PAL_CLI_USAGE', '--jti needs a value');
    if (user !== undefined && typeof user !== 'string') throw new PalisadeError('PAL_CLI_USAGE', '--user needs a value');
    const manifest = loadManifest(dir);
    const report = await revocationAdmin.revokeTokens(manifest, typeof jti === 'string' ? { jti } : typeof user === 'string' ? { username: user } : { all: true });
    if (ctx.json) ctx.io.out(JSON.stringify({ revoked: report }));
    else ctx.io.out(`revoked ${report.target === 'jti' ? `token ${String(jti)}` : report.target === 'user' ? `every token of ${String(user)}` : 'every token issued until now'} (${report.refreshTokens} refresh tokens, ${report.accessTokens} access token ids)`);
    return exitCodes.ok;
  },
};
