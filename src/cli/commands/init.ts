import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { PalisadeError } from '../../kernel/index.js';
import { ensureProjectKeyRing, keyCreatedWarning } from '../../platform/index.js';
import { exitCodes, type Command } from '../cli-io.js';

const MANIFEST = (name: string) => `# Palisade manifest: docs/manifest.md lists every key.
name: ${name}
gateway:
  listen: 127.0.0.1:8443
  tls: auto
identity:
  # /private needs a caller: \`palisade apikeys create DIR --name dev\` prints a key to send as
  # \`authorization: Bearer pal_...\`. docs/identity.md has every method (OIDC, users, mTLS).
  apiKeys: { enabled: true }
functions:
  hello:
    source: functions/hello.ts
    limits: { memoryMb: 64, cpuMs: 50, timeoutMs: 2000 }
    bindings:
      GREETING: { type: text, value: hello }
routes:
  - { path: /hello, methods: [GET], function: hello, public: true }
  # Who may call a private route is a Cedar policy generated from \`allow\` (docs/authorization.md);
  # without \`allow\` only callers with the \`admin\` role get in.
  - { path: /private, methods: [GET], function: hello, allow: { issuers: [api-key] } }
`;

const HELLO = `interface Env {
  readonly GREETING: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    return Response.json({ message: \`\${env.GREETING} from \${url.pathname}\` });
  },
};
`;

const PROJECT_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** `palisade init [DIR]`: scaffolds a small working project. */
export const initCommand: Command = {
  name: 'init',
  summary: 'create a small working project',
  usage: 'palisade init [DIR] [--name NAME]',
  help: 'Creates DIR/palisade.yaml and DIR/functions/hello.ts (a public and a private route, with API\nkeys enabled: `palisade apikeys create DIR --name dev` makes one for the private route).\nCreates the vault key ring DIR/.palisade/master.key (0600) unless PALISADE_MASTER_KEY is set:\nback it up, apart from the state store. Refuses to overwrite an existing palisade.yaml.',
  options: { name: { type: 'string', description: 'project name: lowercase letters, digits, dashes (default: from the directory name, else `app`)' } },
  async run(ctx) {
    if (ctx.args.length > 1) throw new PalisadeError('PAL_CLI_USAGE', `unexpected argument \`${ctx.args[1] ?? ''}\`; usage: ${initCommand.usage}`);
    const dir = resolve(ctx.args[0] ?? '.');
    // A name given is used as given or refused; only the one derived from DIR falls back to `app`.
    if (typeof ctx.flags.name === 'string' && !PROJECT_NAME.test(ctx.flags.name)) throw new PalisadeError('PAL_CLI_USAGE', `--name \`${ctx.flags.name}\` is not a project name: lowercase letters, digits and dashes, starting with a letter (at most 63)`);
    const raw = typeof ctx.flags.name === 'string' ? ctx.flags.name : basename(dir).toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^[^a-z]+/, '');
    const name = PROJECT_NAME.test(raw) ? raw : 'app';
    const files: Array<[string, string]> = [
      ['palisade.yaml', MANIFEST(name)],
      [join('functions', 'hello.ts'), HELLO],
      ['.gitignore', '.palisade/\n'],
    ];
    for (const [file] of files) {
      if (existsSync(join(dir, file)) && file !== '.gitignore') throw new PalisadeError('PAL_PROJECT_EXISTS', `\`${join(ctx.args[0] ?? '.', file)}\` already exists`);
    }
    mkdirSync(join(dir, 'functions'), { recursive: true });
    for (const [file, text] of files) if (!existsSync(join(dir, file))) writeFileSync(join(dir, file), text);
    const arg = ctx.args[0] ?? '.';
    // The key-encryption key of the vault is made now, so the operator backs it up from day one.
    const keyRing = await ensureProjectKeyRing(dir);
    if (keyRing !== undefined) ctx.io.err(keyCreatedWarning(keyRing));
    ctx.io.out(`created ${name} in ${dir}\n  next: npx palisade validate ${arg} && npx palisade up ${arg}\n  a key for /private: npx palisade apikeys create ${arg} --name dev`);
    return exitCodes.ok;
  },
};
