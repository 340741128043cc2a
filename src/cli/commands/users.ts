import { loadManifest } from '../../manifest/index.js';
import { userAdmin } from '../../platform/index.js';
import { PalisadeError } from '../../kernel/index.js';
import { exitCodes, type Command } from '../cli-io.js';
import { readSecret } from '../read-secret.js';

/** `palisade users …`: built-in users and their MFA. */
export const usersCommand: Command = {
  name: 'users',
  summary: 'manage built-in users and their MFA',
  usage: 'palisade users <add|list|disable|enable|passwd> [USERNAME] [DIR] | palisade users mfa <enroll|reset> USERNAME [DIR]',
  help: [
    'Built-in users log in at POST /_palisade/auth/login (requires `identity.builtin.enabled: true`).',
    'Passwords are read from a prompt, or from standard input with --password-stdin; never from',
    'the command line. They need at least 12 characters and must not contain the username.',
    '',
    '  add USERNAME [DIR] [--role ROLE]...   create a user',
    '  list [DIR]                            users, roles, MFA and lock state; never secrets',
    '  disable USERNAME [DIR]                block logins and void every token at once',
    '  enable USERNAME [DIR]                 allow logins again (and lift a lockout)',
    '  passwd USERNAME [DIR]                 set a new password; voids tokens issued before',
    '  mfa enroll USERNAME [DIR]             new TOTP secret (QR code) and 10 recovery codes, shown once',
    '  mfa reset USERNAME [DIR]              remove MFA for a lost device; voids tokens',
  ].join('\n'),
  options: {
    role: { type: 'string', multiple: true, description: 'a role of the new user (add; repeat for more)' },
    'password-stdin': { type: 'boolean', description: 'read the password from standard input' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const [verb, ...rest] = ctx.args;
    const fromStdin = ctx.flags['password-stdin'] === true;
    switch (verb) {
      case 'list': {
        const users = await userAdmin.list(loadManifest(rest[0] ?? '.'));
        if (ctx.json) ctx.io.out(JSON.stringify(users, null, 2));
        else if (users.length === 0) ctx.io.out('no users');
        else for (const u of users) ctx.io.out(`${u.username}  roles=${u.roles.join(',') || '-'}  mfa=${u.mfa ? 'yes' : 'no'}${u.disabled ? '  DISABLED' : ''}${u.locked ? '  LOCKED' : ''}`);
        return exitCodes.ok;
      }
      case 'add':
      case 'passwd':
      case 'disable':
      case 'enable': {
        const [username, dir = '.'] = rest;
        if (username === undefined) throw new PalisadeError('PAL_CLI_USAGE', `\`palisade users ${verb}\` needs a USERNAME`);
        const manifest = loadManifest(dir);
        if (verb === 'add') {
          const password = await readSecret(`password for ${username}: `, fromStdin);
          const user = await userAdmin.add(manifest, { username, password, roles: ctx.multi.role ?? [] });
          ctx.io.out(ctx.json ? JSON.stringify(user) : `created ${user.username}${manifest.identity.builtin.mfa === 'required' ? `; enrol MFA before the first login: palisade users mfa enroll ${user.username} ${dir}` : ''}`);
        } else if (verb === 'passwd') {
          await userAdmin.setPassword(manifest, username, await readSecret(`new password for ${username}: `, fromStdin));
          ctx.io.out(`password of ${username} changed; earlier tokens no longer work`);
        } else {
          await userAdmin.setDisabled(manifest, username, verb === 'disable');
          ctx.io.out(`${username} ${verb}d`);
        }
        return exitCodes.ok;
      }
      case 'mfa': {
        const [sub, username, dir = '.'] = rest;
        if ((sub !== 'enroll' && sub !== 'reset') || username === undefined) throw new PalisadeError('PAL_CLI_USAGE', '`palisade users mfa` needs `enroll USERNAME` or `reset USERNAME`');
        const manifest = loadManifest(dir);
        if (sub === 'reset') {
          await userAdmin.resetMfa(manifest, username);
          ctx.io.out(`mfa of ${username} removed; earlier tokens no longer work`);
          return exitCodes.ok;
        }
        const e = await userAdmin.enrollMfa(manifest, username);
        if (ctx.json) {
          ctx.io.out(JSON.stringify({ username, otpauthUri: e.uri, secret: e.secret, recoveryCodes: e.recoveryCodes }));
        } else {
          ctx.io.out(`scan with an authenticator app (shown once):\n${e.qr}\n${e.uri}\n\nrecovery codes (each works once; store them offline):\n  ${e.recoveryCodes.join('\n  ')}`);
        }
        return exitCodes.ok;
      }
      default:
        throw new PalisadeError('PAL_CLI_USAGE', '`palisade users` needs one of add, list, disable, enable, passwd, mfa');
    }
  },
};
