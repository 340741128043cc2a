import { loadManifest } from '../../manifest/index.js';
import { createProjectApiKey, listProjectApiKeys, revokeProjectApiKey, rotateProjectApiKey } from '../../platform/index.js';
import { PalisadeError } from '../../kernel/index.js';
import { exitCodes, type Command } from '../cli-io.js';

const VERBS = ['create', 'list', 'revoke', 'rotate'] as const;
const ROLE = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;

/** `palisade apikeys create|list|revoke|rotate [DIR]`: API keys for machines. */
export const apikeysCommand: Command = {
  name: 'apikeys',
  summary: 'create, list, revoke and rotate API keys',
  usage: 'palisade apikeys <create|list|revoke|rotate> [DIR] [--name NAME] [--role ROLE]... [--expires-in 30d] [--id ID] [--json]',
  help: [
    'API keys authenticate machines on routes whose `auth` accepts `api-key`',
    '(requires `identity.apiKeys.enabled: true`). A key is shown once, at creation or rotation;',
    'only a digest of it is stored. Send it as `Authorization: Bearer pal_…`.',
    '',
    '  create   --name NAME [--role ROLE]... [--expires-in 90d|12h|30m]',
    '  list     shows ids, names, roles, expiry and last use; never secrets',
    '  revoke   --id ID   takes effect at once on a running node',
    '  rotate   --id ID   issues a new key with the same name and roles, revokes the old one',
  ].join('\n'),
  options: {
    name: { type: 'string', description: 'a name for the key (create)' },
    role: { type: 'string', multiple: true, description: 'a role the key carries (create; repeat for more)' },
    'expires-in': { type: 'string', description: 'lifetime such as 90d, 12h or 30m (create); default: no expiry' },
    id: { type: 'string', description: 'the key id (revoke, rotate)' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const [verb, dir = '.'] = ctx.args;
    if (verb === undefined || !(VERBS as readonly string[]).includes(verb)) {
      throw new PalisadeError('PAL_CLI_USAGE', `\`palisade apikeys\` needs one of ${VERBS.join(', ')}`);
    }
    const manifest = loadManifest(dir);
    if (verb === 'list') {
      const keys = await listProjectApiKeys(manifest);
      if (ctx.json) ctx.io.out(JSON.stringify(keys, null, 2));
      else if (keys.length === 0) ctx.io.out('no api keys');
      else for (const k of keys) ctx.io.out(`${k.id}  ${k.name}  roles=${k.roles.join(',') || '-'}  ${k.revokedAt !== null ? `revoked ${k.revokedAt}` : k.expiresAt !== null ? `expires ${k.expiresAt}` : 'no expiry'}  last used ${k.lastUsedAt ?? 'never'}`);
      return exitCodes.ok;
    }
    if (verb === 'create') {
      const name = ctx.flags.name;
      if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/.test(name)) throw new PalisadeError('PAL_CLI_USAGE', '--name is required: letters, digits, space, dot, dash or underscore, at most 64');
      const roles = ctx.multi.role ?? [];
      for (const r of roles) if (!ROLE.test(r)) throw new PalisadeError('PAL_CLI_USAGE', `--role \`${r}\` is not a valid role name`);
      const { key, view } = await createProjectApiKey(manifest, { name, roles, ttlMs: parseDuration(ctx.flags['expires-in']) });
      print(ctx, key, view.id);
      return exitCodes.ok;
    }
    const id = ctx.flags.id;
    if (typeof id !== 'string' || id === '') throw new PalisadeError('PAL_CLI_USAGE', `--id is required for \`apikeys ${verb}\``);
    if (verb === 'revoke') {
      await revokeProjectApiKey(manifest, id);
      ctx.io.out(ctx.json ? JSON.stringify({ revoked: id }) : `revoked ${id}`);
      return exitCodes.ok;
    }
    const { key, view } = await rotateProjectApiKey(manifest, id);
    print(ctx, key, view.id, id);
    return exitCodes.ok;
  },
};

function print(ctx: Parameters<Command['run']>[0], key: string, id: string, replaced?: string): void {
  if (ctx.json) {
    ctx.io.out(JSON.stringify({ id, key, ...(replaced === undefined ? {} : { revoked: replaced }) }));
    return;
  }
  ctx.io.out(`${replaced === undefined ? 'created' : `rotated ${replaced} ->`} ${id}`);
  ctx.io.out(`key (shown once, store it now): ${key}`);
}

function parseDuration(value: string | boolean | undefined): number | null {
  if (value === undefined) return null;
  const m = typeof value === 'string' ? /^([1-9][0-9]{0,4})([dhm])$/.exec(value) : null;
  if (m === null) throw new PalisadeError('PAL_CLI_USAGE', `--expires-in must look like 90d, 12h or 30m, not \`${String(value)}\``);
  const unit = m[2] === 'd' ? 86_400_000 : m[2] === 'h' ? 3_600_000 : 60_000;
  return Number(m[1]) * unit;
}
