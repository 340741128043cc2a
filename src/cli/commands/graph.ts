import { PalisadeError } from '../../kernel/index.js';
import { loadManifest } from '../../manifest/index.js';
import { buildCommunicationGraph, createPolicyAuthorizer, graphFormats, renderCommunicationGraph, type GraphFormat } from '../../policy/index.js';
import { exitCodes, type Command } from '../cli-io.js';

/** `palisade graph [DIR] --format mermaid|dot|json`: the communication map, from the effective policies. */
export const graphCommand: Command = {
  name: 'graph',
  summary: 'draw who may reach which route, function, host and secret',
  usage: 'palisade graph [DIR] [--format mermaid|dot|json] [--json]',
  help: [
    'Prints the communication map of DIR (default: the current directory): which principals written',
    'in `allow` (roles, users, API keys, issuers; anyone for public routes) may invoke which routes,',
    'which function each route runs, which functions may call which (service bindings; calls across',
    'segments are marked), and, when the manifest grants them, egress hosts and secrets.',
    '',
    'Every edge is a question to the same Cedar authorizer the gateway uses, over the generated and',
    'custom policies: a custom `forbid` removes an edge. Grants the policies refuse are listed as',
    '`refused` (comments in mermaid and dot). Output is sorted. See docs/segmentation.md.',
    '',
    'Exit 0 printed, 1 tool failure, 3 invalid manifest, policies or options.',
  ].join('\n'),
  options: {
    format: { type: 'string', description: 'mermaid (default), dot or json' },
    json: { type: 'boolean', description: 'the same as --format json' },
  },
  async run(ctx) {
    const dir = ctx.args[0] ?? '.';
    if (ctx.args.length > 1) throw new PalisadeError('PAL_CLI_USAGE', `unexpected argument \`${ctx.args[1] ?? ''}\`; usage: ${graphCommand.usage}`);
    const requested = typeof ctx.flags.format === 'string' ? ctx.flags.format : ctx.json ? 'json' : 'mermaid';
    if (!(graphFormats as readonly string[]).includes(requested)) throw new PalisadeError('PAL_CLI_USAGE', `unknown format \`${requested}\`; use ${graphFormats.join(', ')}`);
    const manifest = loadManifest(dir);
    const graph = buildCommunicationGraph(manifest, createPolicyAuthorizer(manifest), Date.now());
    ctx.io.out(renderCommunicationGraph(graph, requested as GraphFormat));
    return exitCodes.ok;
  },
};
