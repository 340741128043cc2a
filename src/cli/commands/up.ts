import { loadManifest } from '../../manifest/index.js';
import { createOperatorLogger, ensureDemoCredentials, startInsecureLoopbackHttpPlatform, startPlatform, type DemoCredentials, type RunningPlatform } from '../../platform/index.js';
import { PalisadeError } from '../../kernel/index.js';
import { exitCodes, type Command } from '../cli-io.js';

/** `palisade up [DIR]`: serves a project until SIGTERM or SIGINT. */
export const upCommand: Command = {
  name: 'up',
  summary: 'start the gateway and workers for a project',
  usage: 'palisade up [DIR] [--host HOST] [--port PORT] [--allow-insecure-http] [--unsafe-demo-credentials] [--log-level LEVEL] [--json]',
  help: 'Validates DIR/palisade.yaml, bundles the functions, starts one worker process per segment\nand the HTTPS gateway. With `tls: auto` a local CA is created under DIR/.palisade/tls/.\nSIGTERM or SIGINT drains in-flight requests, then exits 0. SIGHUP reloads the authorization\npolicies (route `allow`/`mfa`, binding grants, `policies:` files) without a restart; a set that\ndoes not validate is refused and the old one keeps serving.',
  options: {
    host: { type: 'string', description: 'address to listen on (overrides gateway.listen)' },
    port: { type: 'string', description: 'port to listen on; 0 picks a free port' },
    'allow-insecure-http': { type: 'boolean', description: 'serve plain HTTP (loopback addresses only; weakens security)' },
    'unsafe-demo-credentials': { type: 'boolean', description: 'create a demo user with MFA and a demo API key, keep them in plain text and print them (walkthroughs only; weakens security)' },
    'log-level': { type: 'string', description: 'debug | info | warn | error (default info)' },
    json: { type: 'boolean', description: 'print the startup summary as one JSON line' },
  },
  async run(ctx) {
    const dir = ctx.args[0] ?? '.';
    const port = parsePort(ctx.flags.port);
    const level = parseLevel(ctx.flags['log-level']);
    const manifest = loadManifest(dir);
    const logger = createOperatorLogger(level);
    const host = typeof ctx.flags.host === 'string' ? ctx.flags.host : undefined;
    const options = { manifest, logger, ...(host === undefined ? {} : { host }), ...(port === undefined ? {} : { port }) };
    let demo: DemoCredentials | undefined;
    if (ctx.flags['unsafe-demo-credentials'] === true) {
      logger.warn('demo credentials are kept in plain text; never use --unsafe-demo-credentials in production', { code: 'PAL_MANIFEST_INSECURE_SETTING' });
      demo = await ensureDemoCredentials(manifest);
    }
    const node: RunningPlatform = ctx.flags['allow-insecure-http'] === true ? await startInsecureLoopbackHttpPlatform(options) : await startPlatform(options);
    // The signal handlers are in place before the banner says the node is up: a SIGTERM sent the
    // moment the banner appears (a test, a service manager) must drain, not kill.
    const stopped = new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        process.removeAllListeners('SIGHUP');
        logger.info('draining');
        void node
          .close()
          .finally(() => logger.flush())
          .finally(resolve);
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      process.on('SIGHUP', () => reloadPolicies(dir, node, logger));
    });
    printBanner(ctx, node, manifest.routes.filter((r) => r.public).map((r) => r.path), manifest.routes.filter((r) => !r.public).map((r) => r.path));
    if (demo !== undefined && !ctx.json) printDemo(ctx, node, demo, manifest.routes.find((r) => !r.public)?.path);
    await stopped;
    return exitCodes.ok;
  },
};

function printBanner(ctx: Parameters<Command['run']>[0], node: RunningPlatform, publicPaths: string[], privatePaths: string[]): void {
  if (ctx.json) {
    ctx.io.out(JSON.stringify({ url: node.url, caFile: node.caFile ?? null, pid: process.pid, coldStartMs: node.coldStartMs, networkIsolation: node.networkIsolation.on ? 'on' : `off: ${node.networkIsolation.why}` }));
    return;
  }
  const trust = node.caFile === undefined ? '' : ` --cacert ${node.caFile}`;
  const lines = [`palisade is serving ${node.url}`];
  if (node.caFile !== undefined) lines.push(`  trust this CA:  ${node.caFile}`);
  lines.push(node.networkIsolation.on ? '  worker network isolation: on (each worker in an empty network namespace)' : `  worker network isolation: not available (${node.networkIsolation.why}); outbound requests still go only through the egress guard`);
  lines.push('  try:');
  lines.push(`    curl${trust} ${node.url}/_palisade/health`);
  // A `:param` is filled with an example value, which the function may not know (a 404 is then its answer).
  for (const p of publicPaths.slice(0, 3)) lines.push(`    curl${trust} ${node.url}${p.replace(/:([A-Za-z_]+)/g, '42')}${p.includes(':') ? `   # 42: an example ${p.match(/:([A-Za-z_]+)/)?.[1] ?? 'value'}` : ''}`);
  for (const p of privatePaths.slice(0, 1)) lines.push(`    curl -i${trust} ${node.url}${p.replace(/:([A-Za-z_]+)/g, '42')}   # private: 401 until you authenticate`);
  lines.push('  stop with Ctrl-C (in-flight requests are drained)');
  ctx.io.out(lines.join('\n'));
}

function printDemo(ctx: Parameters<Command['run']>[0], node: RunningPlatform, demo: DemoCredentials, privatePath: string | undefined): void {
  const trust = node.caFile === undefined ? '' : ` --cacert ${node.caFile}`;
  const path = (privatePath ?? '/').replace(/:([A-Za-z_]+)/g, '42');
  const lines = ['', `demo credentials (plain text in ${demo.file}; for this walkthrough only):`];
  if (demo.apiKey !== undefined) {
    lines.push('  an API key (role customer):', `    curl${trust} -H 'authorization: Bearer ${demo.apiKey}' ${node.url}${path}`);
  }
  if (demo.username !== undefined && demo.password !== undefined) {
    lines.push(`  a user with MFA: ${demo.username} / ${demo.password}`);
    lines.push('  add the TOTP secret to an authenticator app (scan the QR code, or type the secret):');
    if (demo.totpQr !== undefined) lines.push(demo.totpQr);
    lines.push(`    secret: ${demo.totpSecret ?? ''}`);
    lines.push('  then log in with the current 6-digit code and use the access token:');
    lines.push(`    curl${trust} -X POST ${node.url}/_palisade/auth/login -H 'content-type: application/json' \\`);
    lines.push(`      -d '{"username":"${demo.username}","password":"${demo.password}","totp":"<code>"}'`);
    lines.push(`    curl${trust} -H 'authorization: Bearer <access_token>' ${node.url}${path}`);
  }
  ctx.io.out(lines.join('\n'));
}

function parsePort(value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !/^[0-9]{1,5}$/.test(value) || n > 65535) {
    throw new PalisadeError('PAL_CLI_USAGE', `--port must be a number from 0 to 65535, not \`${String(value)}\``);
  }
  return n;
}

function parseLevel(value: string | boolean | undefined): 'debug' | 'info' | 'warn' | 'error' {
  if (value === undefined) return 'info';
  if (value === 'debug' || value === 'info' || value === 'warn' || value === 'error') return value;
  throw new PalisadeError('PAL_CLI_USAGE', `--log-level must be debug, info, warn or error, not \`${String(value)}\``);
}

/**
 * SIGHUP: reads the manifest again and swaps the policy set. Never throws: a manifest or policy
 * that does not validate is logged with its diagnostics and the node keeps its current set.
 */
function reloadPolicies(dir: string, node: RunningPlatform, logger: ReturnType<typeof createOperatorLogger>): void {
  try {
    const result = node.reloadPolicies(loadManifest(dir));
    logger.info('policies reloaded', { count: result.policies });
    if (result.needsRestart.length > 0) logger.warn(`the manifest also changed ${result.needsRestart.join(', ')}: those apply at the next restart`, { code: 'PAL_POLICY_RELOAD_PARTIAL' });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.error(`policy reload refused; the previous policies keep serving: ${message.slice(0, 2000)}`, { code: 'PAL_POLICY_INVALID' });
  }
}
