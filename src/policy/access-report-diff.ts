import { isMap, isPair, isScalar, isSeq, type Document, type Node, type YAMLMap, type YAMLSeq } from 'yaml';
import type { Manifest } from '../manifest/index.js';
import type { GrantUse, SegmentEgressGrantUse } from './access-report-types.js';
import { removalIsExact } from './access-report-check-diff.js';
import { routeUid } from './build-entities.js';

const DIFF_WITHHELD = 'no suggested diff: the manifest shares YAML nodes (anchors and aliases) between the unused grants and other entries, so cutting them from the text would also remove, add or change other grants; remove the unused grants by hand';

type Span = [number, number];

/**
 * Text edits that remove the unused grants, and the unified diff they make. A route's `allow`
 * list, a function's `bindings`, `secrets` or `egress` that loses every entry loses its key too
 * (except a route's whole `allow`, which would make the route admin-only: a note says so).
 */
export function suggestRemoval(text: string, doc: Document, file: string, manifest: Manifest, unused: readonly GrantUse[]): { diff: string; notes: string[] } {
  const notes: string[] = [];
  const cuts: Array<Span | [number, number, string]> = [];
  for (const route of manifest.routes) {
    if (route.public || route.allow === undefined) continue;
    const uid = routeUid(route).id;
    const mine = unused.filter((g) => g.kind === 'route' && g.route === uid && g.list !== 'admin-only');
    if (mine.length === 0) continue;
    const allow = doc.getIn(['routes', route.index, 'allow'], true) as Node | undefined;
    if (!isMap(allow)) continue;
    let remaining = 0;
    const listCuts: Span[] = [];
    const emptied = new Set<unknown>();
    for (const pair of allow.items) {
      if (!isPair(pair) || !isScalar(pair.key) || !isSeq(pair.value)) continue;
      const key = String(pair.key.value);
      const drop = pair.value.items.map((item) => isScalar(item) && mine.some((g) => g.kind === 'route' && g.list === key && g.value === String(item.value)));
      const kept = drop.filter((d) => !d).length;
      remaining += kept;
      if (kept === 0) emptied.add(pair);
      else listCuts.push(...cutItems(text, pair.value, drop));
    }
    if (remaining === 0) {
      notes.push(`route \`${uid}\`: no entry of its \`allow\` was used; removing them all would make it admin-only, so the diff leaves it: remove the route if it is not needed`);
      continue;
    }
    cuts.push(...listCuts, ...cutItems(text, allow, allow.items.map((p) => emptied.has(p))));
  }
  for (const fn of [...manifest.functions.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const mine = unused.filter((g): g is FunctionGrantUse => g.kind !== 'route' && g.kind !== 'segment-egress' && g.function === fn.name);
    if (mine.length === 0) continue;
    const node = doc.getIn(['functions', fn.name], true) as Node | undefined;
    if (!isMap(node)) continue;
    const emptiedKeys = new Set<string>();
    const entryCuts: Span[] = [];
    const lists: ReadonlyArray<[key: string, drop: (item: unknown, i: number) => boolean]> = [
      ['bindings', (item) => isPair(item) && isScalar(item.key) && mine.some((g) => g.kind === 'binding' && g.binding === String((item.key as { value: unknown }).value))],
      ['secrets', (item) => isScalar(item) && mine.some((g) => g.kind === 'secret' && g.secret === String(item.value))],
      ['egress', (_item, i) => mine.some((g) => g.kind === 'egress' && g.index === i)],
    ];
    for (const [key, isDropped] of lists) {
      const coll = node.get(key, true) as Node | undefined;
      if (!isMap(coll) && !isSeq(coll)) continue;
      const drop = (coll.items as unknown[]).map((item, i) => isDropped(item, i));
      if (!drop.includes(true)) continue;
      if (drop.every(Boolean)) emptiedKeys.add(key);
      else entryCuts.push(...cutItems(text, coll, drop));
    }
    cuts.push(...entryCuts, ...cutItems(text, node, node.items.map((p) => isScalar(p.key) && emptiedKeys.has(String(p.key.value)))));
    for (const g of mine) notes.push(breakageNote(g, emptiedKeys));
  }
  for (const seg of [...manifest.segments.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const mine = unused.filter((g): g is SegmentEgressGrantUse => g.kind === 'segment-egress' && g.segment === seg.name);
    if (mine.length === 0) continue;
    const node = doc.getIn(['segments', seg.name], true) as Node | undefined;
    const list = isMap(node) ? (node.get('egress', true) as Node | undefined) : undefined;
    if (!isMap(node) || !isSeq(list)) continue;
    const drop = list.items.map((_item, i) => mine.some((g) => g.index === i));
    // The last grant gone: the `egress` key goes too, and a block map left empty becomes `{}` (a segment must be a map).
    const segKey = (doc.getIn(['segments'], true) as YAMLMap | undefined)?.items.find((p) => isScalar(p.key) && p.key.value === seg.name)?.key as Node | undefined;
    const egressPair = node.items.find((p) => isScalar(p.key) && p.key.value === 'egress');
    const pairSpan = itemSpan(text, egressPair);
    if (drop.every(Boolean) && node.items.length === 1 && node.flow !== true && segKey?.range != null && pairSpan !== undefined) cuts.push([segKey.range[1], lineSpan(text, pairSpan[0], pairSpan[1])[1], ': {}\n']);
    else if (drop.every(Boolean)) cuts.push(...cutItems(text, node, node.items.map((p) => p === egressPair)));
    else cuts.push(...cutItems(text, list, drop));
    for (const g of mine) notes.push(`segment \`${seg.name}\`: \`fetch()\` to ${g.host}${g.ports === undefined ? '' : ` ports ${g.ports.join(', ')}`} from its functions rejects with "TypeError: fetch failed: egress to \`host:port\` is not granted" unless another grant covers it (audited: a denied \`egress\`, \`not-granted\`)`);
  }
  if (cuts.length === 0) return { diff: '', notes };
  let next = text;
  for (const [s, e, insert] of [...cuts].sort((a, b) => b[0] - a[0])) next = next.slice(0, s) + (insert ?? '') + next.slice(e);
  // INVARIANT: a suggested diff removes exactly the unused grants; where shared YAML nodes (anchors
  // and aliases) would make the text cuts remove, add or change anything else, there is none.
  if (!removalIsExact(text, next, manifest, unused)) return { diff: '', notes: [DIFF_WITHHELD, ...notes] };
  return { diff: unifiedDiff(text, next, file), notes };
}

type FunctionGrantUse = Exclude<GrantUse, { kind: 'route' } | SegmentEgressGrantUse>;

/** What code that still uses a removed function grant meets at run time (src/runtime/prelude/host-bridges.js). */
function breakageNote(g: FunctionGrantUse, emptiedKeys: ReadonlySet<string>): string {
  const thrown = 'throws a TypeError (uncaught, the request fails: 500 `PAL_RUNTIME_FUNCTION_THREW`)';
  if (g.kind === 'binding') return `function \`${g.function}\`: without binding \`${g.binding}\`, \`env.${g.binding}\` is undefined: code that still calls it ${thrown}`;
  if (g.kind === 'secret') {
    return emptiedKeys.has('secrets')
      ? `function \`${g.function}\`: with no secret left, \`env.secrets\` is undefined: code that still reads \`${g.secret}\` ${thrown}`
      : `function \`${g.function}\`: \`env.secrets.get('${g.secret}')\` rejects with "secrets: secret \`${g.secret}\` is not available to this function" (audited: a denied \`readSecret\`, \`not-granted\`)`;
  }
  return emptiedKeys.has('egress')
    ? `function \`${g.function}\`: with no egress grant left (${g.host} was the last), every \`fetch()\` rejects with "TypeError: fetch failed: outbound requests are not granted to this function" unless its segment grants the host (audited: a denied \`egress\`, \`not-granted\`)`
    : `function \`${g.function}\`: \`fetch()\` to ${g.host}${g.ports === undefined ? '' : ` ports ${g.ports.join(', ')}`} rejects with "TypeError: fetch failed: egress to \`host:port\` is not granted" unless another grant covers it (audited: a denied \`egress\`, \`not-granted\`)`;
}

/**
 * Cuts removing the items of a YAML collection (a sequence's items or a map's pairs) that `drop`
 * marks. Block style: the item's whole lines. Flow style: the item and the comma joining it to the
 * next item, or to the previous one when no kept item follows. The cuts never overlap.
 */
function cutItems(text: string, coll: YAMLMap | YAMLSeq, drop: readonly boolean[]): Span[] {
  const spans = (coll.items as unknown[]).map((item) => itemSpan(text, item));
  const cuts: Span[] = [];
  spans.forEach((span, i) => {
    if (drop[i] !== true || span === undefined) return;
    if (coll.flow !== true) {
      cuts.push(lineSpan(text, span[0], span[1]));
      return;
    }
    const keptAfter = drop.slice(i + 1).some((d) => !d);
    const next = spans[i + 1];
    const prev = spans[i - 1];
    if (keptAfter && next !== undefined) cuts.push([span[0], next[0]]);
    else if (prev !== undefined) cuts.push([prev[1], span[1]]);
    else cuts.push(span);
  });
  return cuts;
}

/** Where an item (a node, or a pair from its key to the end of its value) starts and ends, trailing space left out. */
function itemSpan(text: string, item: unknown): Span | undefined {
  const node = (isPair(item) ? item.key : item) as Node | null;
  const last = (isPair(item) ? (item.value ?? item.key) : item) as Node | null;
  if (node?.range == null || last?.range == null) return undefined;
  let end = last.range[1];
  while (end > node.range[0] && /\s/.test(text[end - 1] ?? '')) end--;
  return [node.range[0], end];
}

/** Whole lines from the one holding `start` to the one holding `end`, newline included. */
function lineSpan(text: string, start: number, end: number): Span {
  const s = text.lastIndexOf('\n', start - 1) + 1;
  const nl = text.indexOf('\n', end);
  return [s, nl === -1 ? text.length : nl + 1];
}

/**
 * A unified diff (3 lines of context) of two texts, by longest common subsequence of lines after
 * the common head and tail are set aside.
 */
export function unifiedDiff(before: string, after: string, file: string): string {
  // A final newline ends the last line; it does not start another.
  const lines = (t: string) => (t.endsWith('\n') ? t.slice(0, -1) : t).split('\n');
  const a = lines(before);
  const b = lines(after);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  const lcs: number[][] = Array.from({ length: am.length + 1 }, () => new Array<number>(bm.length + 1).fill(0));
  for (let i = am.length - 1; i >= 0; i--) for (let j = bm.length - 1; j >= 0; j--) (lcs[i] as number[])[j] = am[i] === bm[j] ? (lcs[i + 1]?.[j + 1] ?? 0) + 1 : Math.max(lcs[i + 1]?.[j] ?? 0, lcs[i]?.[j + 1] ?? 0);
  const ops: Array<{ op: ' ' | '-' | '+'; line: string }> = [];
  for (let k = 0; k < head; k++) ops.push({ op: ' ', line: a[k] ?? '' });
  let i = 0;
  let j = 0;
  while (i < am.length || j < bm.length) {
    if (i < am.length && j < bm.length && am[i] === bm[j]) ops.push({ op: ' ', line: am[i++] ?? '' }) && j++;
    else if (i < am.length && (j >= bm.length || (lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0))) ops.push({ op: '-', line: am[i++] ?? '' });
    else ops.push({ op: '+', line: bm[j++] ?? '' });
  }
  for (let k = a.length - tail; k < a.length; k++) ops.push({ op: ' ', line: a[k] ?? '' });
  // Hunks: changed ops with 3 lines of context, merged when they touch.
  const out = [`--- ${file}`, `+++ ${file} (unused grants removed)`];
  const changed = ops.map((o, k) => (o.op === ' ' ? -1 : k)).filter((k) => k >= 0);
  let k = 0;
  while (k < changed.length) {
    const start = Math.max(0, (changed[k] ?? 0) - 3);
    let end = Math.min(ops.length, (changed[k] ?? 0) + 4);
    while (k + 1 < changed.length && (changed[k + 1] ?? 0) - 3 <= end) end = Math.min(ops.length, (changed[++k] ?? 0) + 4);
    k++;
    let aStart = 1;
    let bStart = 1;
    for (let x = 0; x < start; x++) {
      if (ops[x]?.op !== '+') aStart++;
      if (ops[x]?.op !== '-') bStart++;
    }
    const slice = ops.slice(start, end);
    const aLen = slice.filter((o) => o.op !== '+').length;
    const bLen = slice.filter((o) => o.op !== '-').length;
    out.push(`@@ -${aStart},${aLen} +${bStart},${bLen} @@`, ...slice.map((o) => `${o.op}${o.line}`));
  }
  return `${out.join('\n')}\n`;
}
