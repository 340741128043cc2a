import { readFileSync } from 'node:fs';
import { loginToGateway } from '../../platform/index.js';
import { PalisadeError } from '../../kernel/index.js';
import { exitCodes, type Command } from '../cli-io.js';
import { readSecret } from '../read-secret.js';

/** `palisade login`: logs in to a gateway's built-in issuer for the CLI's own use. */
export const loginCommand: Command = {
  name: 'login',
  summary: 'log in to a gateway as a built-in user',
  usage: 'palisade login --url URL --username NAME [--ca FILE] [--password-stdin] [--totp CODE | --recovery-code CODE]',
  help: 'Logs in at URL/_palisade/auth/login and stores the tokens in $PALISADE_HOME/credentials.json\n(default ~/.palisade), readable by you only. The password comes from a prompt or standard input.',
  options: {
    url: { type: 'string', description: 'the gateway, such as https://127.0.0.1:8443' },
    username: { type: 'string', description: 'the built-in user' },
    ca: { type: 'string', description: 'CA file to trust (for tls: auto, .palisade/tls/ca.pem)' },
    'password-stdin': { type: 'boolean', description: 'read the password from standard input' },
    totp: { type: 'string', description: 'the current code of your authenticator app' },
    'recovery-code': { type: 'string', description: 'a one-time recovery code instead of --totp' },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  async run(ctx) {
    const url = ctx.flags.url;
    const username = ctx.flags.username;
    if (typeof url !== 'string' || typeof username !== 'string') throw new PalisadeError('PAL_CLI_USAGE', '--url and --username are required');
    const ca = typeof ctx.flags.ca === 'string' ? readFileSync(ctx.flags.ca, 'utf8') : undefined;
    const password = await readSecret(`password for ${username}: `, ctx.flags['password-stdin'] === true);
    const totp = typeof ctx.flags.totp === 'string' ? ctx.flags.totp : undefined;
    const recoveryCode = typeof ctx.flags['recovery-code'] === 'string' ? ctx.flags['recovery-code'] : undefined;
    const stored = await loginToGateway({ url, username, password, ...(ca === undefined ? {} : { ca }), ...(totp === undefined ? {} : { totp }), ...(recoveryCode === undefined ? {} : { recoveryCode }) });
    ctx.io.out(ctx.json ? JSON.stringify({ username: stored.username, url: stored.url, expiresAt: stored.expiresAt }) : `logged in to ${stored.url} as ${stored.username}; the access token expires at ${stored.expiresAt}`);
    return exitCodes.ok;
  },
};
