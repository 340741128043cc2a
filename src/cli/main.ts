#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fileURLToPath } from 'node:url';
import { PalisadeError } from '../kernel/index.js';
import { exitCodes, processIo, reportError, type CliIo, type Command } from './cli-io.js';
import { apikeysCommand } from './commands/apikeys.js';
import { auditCommand } from './commands/audit.js';
import { initCommand } from './commands/init.js';
import { upCommand } from './commands/up.js';
import { loginCommand } from './commands/login.js';
import { scanCommand } from './commands/scan.js';
import { tokenCommand } from './commands/token.js';
import { tokensCommand } from './commands/tokens.js';
import { certsCommand } from './commands/certs.js';
import { usersCommand } from './commands/users.js';
import { validateCommand } from './commands/validate.js';
import { policyCommand } from './commands/policy.js';
import { graphCommand } from './commands/graph.js';
import { accessReportCommand } from './commands/access-report.js';
import { secretsCommand } from './commands/secrets.js';

const commands: readonly Command[] = [initCommand, validateCommand, upCommand, usersCommand, apikeysCommand, secretsCommand, policyCommand, graphCommand, accessReportCommand, loginCommand, tokenCommand, tokensCommand, certsCommand, scanCommand, auditCommand];

function version(): string {
  const pkg = JSON.parse(readFileSync(join(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function mainHelp(): string {
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
    io.out(mainHelp());
    return name === undefined ? exitCodes.invalidInput : exitCodes.ok;
  }
  if (name === '--version' || name === '-v') {
    io.out(version());
    return exitCodes.ok;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    return reportError(new PalisadeError('PAL_CLI_USAGE', `unknown command \`${name}\`; commands: ${commands.map((c) => c.name).join(', ')}`), io, debug, false);
  }
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
