import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';
import type { Manifest } from '../manifest/index.js';
import type { GrantUse } from './access-report-types.js';
import { routeUid } from './build-entities.js';

type Data = Record<string, unknown>;
const isData = (v: unknown): v is Data => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Whether `after` (the manifest text with the suggested cuts applied) holds exactly the data of
 * `before` minus the `unused` grants, with aliases resolved: nothing else removed, nothing added,
 * nothing changed. Text cuts can go wrong where the YAML shares nodes: removing an anchored item
 * can move its anchor to the next item (an alias elsewhere then grants another secret, role or
 * host), cut an anchor its aliases need, or remove from every alias a grant one of them still uses.
 * Any doubt (a parse error, a cycle) is a "no".
 *
 * @example
 * ```ts
 * removalIsExact(text, next, manifest, unused); // false when an alias elsewhere would change
 * ```
 */
export function removalIsExact(before: string, after: string, manifest: Manifest, unused: readonly GrantUse[]): boolean {
  try {
    // A JSON round trip gives each alias its own copy, so removing from one place changes only it.
    const expected = JSON.parse(JSON.stringify(parse(before, { uniqueKeys: true }))) as unknown;
    const actual = JSON.parse(JSON.stringify(parse(after, { uniqueKeys: true }))) as unknown;
    if (!isData(expected)) return false;
    removeGrants(expected, manifest, unused);
    return isDeepStrictEqual(expected, actual);
  } catch {
    return false;
  }
}

/** Removes the unused grants from the manifest's data as `suggestRemoval` means to remove them from its text. */
function removeGrants(data: Data, manifest: Manifest, unused: readonly GrantUse[]): void {
  const routes = Array.isArray(data.routes) ? (data.routes as unknown[]) : [];
  for (const route of manifest.routes) {
    const allow = (routes[route.index] as Data | undefined)?.allow;
    if (route.public || !isData(allow)) continue;
    const uid = routeUid(route).id;
    const mine = unused.filter((g) => g.kind === 'route' && g.route === uid && g.list !== 'admin-only');
    if (mine.length === 0) continue;
    const kept = Object.entries(allow).map(([list, values]) => [list, Array.isArray(values) ? values.filter((v) => !mine.some((g) => g.kind === 'route' && g.list === list && g.value === String(v))) : values] as const);
    // Every entry unused: the diff leaves the route alone (it would become admin-only).
    if (kept.every(([, values]) => Array.isArray(values) && values.length === 0)) continue;
    for (const [list, values] of kept) {
      if (Array.isArray(values) && values.length === 0) delete allow[list];
      else allow[list] = values;
    }
  }
  const functions = isData(data.functions) ? data.functions : {};
  for (const fn of manifest.functions.values()) {
    const node = functions[fn.name];
    if (!isData(node)) continue;
    const bindings = node.bindings;
    if (isData(bindings)) {
      const before = Object.keys(bindings).length;
      for (const g of unused) if (g.kind === 'binding' && g.function === fn.name) delete bindings[g.binding];
      if (before > 0 && Object.keys(bindings).length === 0) delete node.bindings;
    }
    filterList(node, 'secrets', (s) => unused.some((g) => g.kind === 'secret' && g.function === fn.name && g.secret === String(s)));
    filterList(node, 'egress', (_s, i) => unused.some((g) => g.kind === 'egress' && g.function === fn.name && g.index === i));
  }
  const segments = isData(data.segments) ? data.segments : {};
  for (const seg of manifest.segments.values()) {
    const node = segments[seg.name];
    const mine = unused.filter((g) => g.kind === 'segment-egress' && g.segment === seg.name);
    if (!isData(node) || mine.length === 0) continue;
    filterList(node, 'egress', (_s, i) => mine.some((g) => g.kind === 'segment-egress' && g.index === i));
  }
}

/** Drops the items of list `key` that `drop` marks; a list that loses its last item loses its key. */
function filterList(node: Data, key: string, drop: (item: unknown, i: number) => boolean): void {
  const list = node[key];
  if (!Array.isArray(list) || list.length === 0) return;
  const kept = list.filter((item, i) => !drop(item, i));
  if (kept.length === 0) delete node[key];
  else node[key] = kept;
}
