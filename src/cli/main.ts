#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fileURLToPath } from 'node:url';
import { PalisadeError } from '../kernel/index.js';
import { exitCodes, processIo, reportError, type CliIo, type Command } from './cli-io.js';
/**
 * The commands, each loaded only when it runs (or for the command list of `palisade --help`): a
 * command pays for its own dependencies only, so `palisade validate` never loads the gateway and
 * `palisade secrets list` never loads the template scanner.
 */
const commandLoaders: ReadonlyArray<readonly [string, () => Promise<Command>]> = [
  ['init', async () => (await import('./commands/init.js')).initCommand],
  ['validate', async () => (await import('./commands/validate.js')).validateCommand],
  ['up', async () => (await import('./commands/up.js')).upCommand],
  ['users', async () => (await import('./commands/users.js')).usersCommand],
  ['apikeys', async () => (await import('./commands/apikeys.js')).apikeysCommand],
  ['secrets', async () => (await import('./commands/secrets.js')).secretsCommand],
  ['policy', async () => (await import('./commands/policy.js')).policyCommand],
  ['graph', async () => (await import('./commands/graph.js')).graphCommand],
  ['access-report', async () => (await import('./commands/access-report.js')).accessReportCommand],
  ['login', async () => (await import('./commands/login.js')).loginCommand],
  ['token', async () => (await import('./commands/token.js')).tokenCommand],
  ['tokens', async () => (await import('./commands/tokens.js')).tokensCommand],
  ['certs', async () => (await import('./commands/certs.js')).certsCommand],
  ['scan', async () => (await import('./commands/scan.js')).scanCommand],
  ['audit', async () => (await import('./commands/audit.js')).auditCommand],
];
const commandNames = commandLoaders.map(([name]) => name);

function version(): string {
  const pkg = JSON.parse(readFileSync(join(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function mainHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'palisade: a zero-trust serverless platform',
    '',
    'usage: palisade <command> [options]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'global options:',
    '  --help      show help (for a command: palisade <command> --help)',
    '  --version   print the version',
    '  --debug     print stack traces on errors',
    '',
    'exit codes: 0 ok, 1 failure, 2 denied or verification failed, 3 invalid input',
  ].join('\n');
}

function commandHelp(c: Command): string {
  const opts = Object.entries(c.options).map(([k, o]) => `  ${o.short === undefined ? '' : `-${o.short}, `}--${k}${o.type === 'string' ? ' VALUE' : ''}`.padEnd(30) + o.description);
  return [`usage: ${c.usage}`, '', c.help, '', 'options:', ...opts, '  --help'.padEnd(30) + 'show this help', '  --debug'.padEnd(30) + 'print stack traces on errors'].join('\n');
}

/**
 * Runs the CLI and returns the exit code. `io` is injectable for tests.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2));
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  const debug = rest.includes('--debug') || name === '--debug';
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(mainHelp(await Promise.all(commandLoaders.map(async ([key, load]) => {
      const command = await load();
      // INVARIANT: a command runs under the name it declares.
      if (command.name !== key) throw new Error(`command \`${command.name}\` is registered as \`${key}\``);
      return command;
    }))));
    return name === undefined ? exitCodes.invalidInput : exitCodes.ok;
  }
  if (name === '--version' || name === '-v') {
    io.out(version());
    return exitCodes.ok;
  }
  const load = commandLoaders.find(([n]) => n === name)?.[1];
  if (load === undefined) {
    return reportError(new PalisadeError('PAL_CLI_USAGE', `unknown command \`${name}\`; commands: ${commandNames.join(', ')}`), io, debug, false);
  }
  const command = await load();
  const options: ParseArgsConfig['options'] = { help: { type: 'boolean' }, debug: { type: 'boolean' } };
  for (const [k, o] of Object.entries(command.options)) options[k] = { ...(o.multiple === true ? { type: 'string', multiple: true } : { type: o.type }), ...(o.short === undefined ? {} : { short: o.short }) };
  let parsed: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...rest], options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0]?.toLowerCase() ?? 'invalid arguments' : 'invalid arguments';
    return reportError(new PalisadeError('PAL_CLI_USAGE', `${message}; see \`palisade ${command.name} --help\``), io, debug, false);
  }
  if (parsed.values.help === true) {
    io.out(commandHelp(command));
    return exitCodes.ok;
  }
  const json = parsed.values.json === true;
  try {
    const flags: Record<string, string | boolean | undefined> = {};
    const multi: Record<string, string[] | undefined> = {};
    for (const [k, v] of Object.entries(parsed.values)) {
      if (Array.isArray(v)) multi[k] = v;
      else flags[k] = v;
    }
    return await command.run({ args: parsed.positionals, flags, multi, io, debug, json });
  } catch (error) {
    return reportError(error, io, debug, json);
  }
}

const isEntry = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === (await import('node:fs')).realpathSync(process.argv[1]);
if (isEntry) {
  // `palisade policy show | head`: a reader that closed the pipe ends the output, quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  const code = await runCli(process.argv.slice(2));
  process.exitCode = code;
}
