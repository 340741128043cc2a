import type { CommunicationGraph, GraphEdge, GraphNode } from './communication-graph.js';

/** Output formats of `palisade graph`. */
export const graphFormats = ['mermaid', 'dot', 'json'] as const;
/** One output format. */
export type GraphFormat = (typeof graphFormats)[number];

/**
 * Renders a communication graph as a Mermaid flowchart, Graphviz DOT or JSON. Functions are
 * grouped by segment, and so are secrets; a cross-segment call or secret read is drawn thick and labelled; grants the policies
 * refuse are listed as comments. Deterministic: node ids are assigned in sorted order.
 *
 * @example
 * ```ts
 * renderCommunicationGraph(graph, 'mermaid'); // 'flowchart LR\n  ...'
 * ```
 */
export function renderCommunicationGraph(graph: CommunicationGraph, format: GraphFormat): string {
  if (format === 'json') return JSON.stringify(graph, null, 2);
  return format === 'mermaid' ? renderMermaid(graph) : renderDot(graph);
}

function edgeText(e: GraphEdge): string {
  const parts: string[] = [];
  if (e.label !== undefined) parts.push(e.label);
  if (e.kind === 'egress') parts.push('egress');
  if (e.kind === 'secret') parts.push('reads');
  if (e.mfa === true) parts.push('mfa');
  if (e.crossSegment === true) parts.push('cross-segment');
  return parts.join(' · ');
}

/** Functions and secrets are drawn inside the segment they belong to. */
const inSegment = (n: GraphNode): n is GraphNode & { segment: string } => (n.kind === 'function' || n.kind === 'secret') && n.segment !== undefined;

function bySegment(graph: CommunicationGraph): Map<string, GraphNode[]> {
  const out = new Map<string, GraphNode[]>();
  for (const n of graph.nodes) {
    if (!inSegment(n)) continue;
    out.set(n.segment, [...(out.get(n.segment) ?? []), n]);
  }
  return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const refusedLine = (e: GraphEdge) => `refused: ${e.from} -> ${e.to}${e.label === undefined ? '' : ` (${e.label})`} by ${e.policyIds.length === 0 ? e.reason ?? 'no-permit' : e.policyIds.join(', ')}`;

function renderMermaid(graph: CommunicationGraph): string {
  const ids = new Map(graph.nodes.map((n, i) => [n.id, `n${i}`]));
  // Mermaid labels: quotes and angle brackets as entity codes, so input cannot break out.
  const label = (s: string) => s.replace(/[#"<>]/g, (c) => `#${c.charCodeAt(0)};`).replace(/[\r\n]/g, ' ');
  const shape = (n: GraphNode) => {
    const id = ids.get(n.id) ?? '';
    const l = label(n.label);
    switch (n.kind) {
      case 'principal':
        return `${id}(["${l}"])`;
      case 'route':
        return `${id}["${l}"]`;
      case 'function':
        return `${id}[["${l}"]]`;
      case 'host':
        return `${id}{{"${l}"}}`;
      default:
        return `${id}[("${l}")]`;
    }
  };
  const lines = ['flowchart LR', `  %% palisade graph: ${graph.project.replace(/[\r\n]/g, ' ')} (computed from the effective Cedar policies)`];
  for (const [segment, fns] of bySegment(graph)) {
    lines.push(`  subgraph seg_${ids.get(fns[0]?.id ?? '')}["segment ${label(segment)}"]`);
    for (const n of fns) lines.push(`    ${shape(n)}`);
    lines.push('  end');
  }
  for (const n of graph.nodes) if (!inSegment(n)) lines.push(`  ${shape(n)}`);
  for (const e of graph.edges) {
    const text = edgeText(e);
    const arrow = e.crossSegment === true ? '==>' : e.kind === 'egress' || e.kind === 'secret' ? '-.->' : '-->';
    lines.push(`  ${ids.get(e.from) ?? ''} ${arrow}${text === '' ? '' : `|"${label(text)}"|`} ${ids.get(e.to) ?? ''}`);
  }
  // A `%%` comment ends at the line's end: only a line break could leave it.
  for (const e of graph.refused) lines.push(`  %% ${refusedLine(e).replace(/[\r\n]/g, ' ')}`);
  return lines.join('\n');
}

function renderDot(graph: CommunicationGraph): string {
  const q = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\r\n]/g, ' ')}"`;
  const shape: Record<GraphNode['kind'], string> = { principal: 'ellipse', route: 'box', function: 'component', host: 'hexagon', secret: 'cylinder' };
  const lines = ['digraph palisade {', '  rankdir=LR;', `  label=${q(`${graph.project} (computed from the effective Cedar policies)`)};`];
  for (const [segment, fns] of bySegment(graph)) {
    lines.push(`  subgraph ${q(`cluster_${segment}`)} {`, `    label=${q(`segment ${segment}`)};`);
    for (const n of fns) lines.push(`    ${q(n.id)} [label=${q(n.label)}, shape=${shape[n.kind]}];`);
    lines.push('  }');
  }
  for (const n of graph.nodes) if (!inSegment(n)) lines.push(`  ${q(n.id)} [label=${q(n.label)}, shape=${shape[n.kind]}];`);
  for (const e of graph.edges) {
    const attrs = [`label=${q(edgeText(e))}`];
    if (e.crossSegment === true) attrs.push('color=red', 'penwidth=2');
    if (e.kind === 'egress' || e.kind === 'secret') attrs.push('style=dashed');
    lines.push(`  ${q(e.from)} -> ${q(e.to)} [${attrs.join(', ')}];`);
  }
  for (const e of graph.refused) lines.push(`  // ${refusedLine(e).replace(/[\r\n]/g, ' ')}`);
  lines.push('}');
  return lines.join('\n');
}
