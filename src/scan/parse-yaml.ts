import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Tags } from 'yaml';

/** CloudFormation short-form tags and the long form each stands for. */
const SHORT_FORMS: Readonly<Record<string, string>> = {
  '!Ref': 'Ref',
  '!Condition': 'Condition',
  '!Sub': 'Fn::Sub',
  '!GetAtt': 'Fn::GetAtt',
  '!Join': 'Fn::Join',
  '!If': 'Fn::If',
  '!Select': 'Fn::Select',
  '!Split': 'Fn::Split',
  '!FindInMap': 'Fn::FindInMap',
  '!ImportValue': 'Fn::ImportValue',
  '!Base64': 'Fn::Base64',
  '!Cidr': 'Fn::Cidr',
  '!GetAZs': 'Fn::GetAZs',
  '!Equals': 'Fn::Equals',
  '!And': 'Fn::And',
  '!Or': 'Fn::Or',
  '!Not': 'Fn::Not',
  '!Transform': 'Fn::Transform',
};

// Each tag may stand on a scalar, a sequence or a mapping; the value is kept as parsed and the
// conversion below wraps it in its long form. Registering the tags keeps `yaml` from warning.
const customTags: Tags = Object.keys(SHORT_FORMS).flatMap((tag) => [
  { tag, resolve: (value: string) => value },
  { tag, collection: 'seq' as const, resolve: (value: unknown) => value },
  { tag, collection: 'map' as const, resolve: (value: unknown) => value },
]) as unknown as Tags;

/** Alias expansions allowed per document (a bound against "billion laughs" documents). */
const MAX_ALIASES = 100;

/** A parsed YAML document with the line of every mapping key path that was asked for. */
export interface ParsedYaml {
  readonly value: unknown;
  /** 1-based line of the value at `path`, or undefined. */
  lineOf(path: readonly (string | number)[]): number | undefined;
}

/** A YAML syntax error with its 1-based line. */
export class YamlSyntaxError extends Error {
  readonly line: number | undefined;
  constructor(message: string, line: number | undefined) {
    super(message);
    this.name = 'YamlSyntaxError';
    this.line = line;
  }
}

/**
 * Parses YAML with CloudFormation's short-form tags (`!Ref X` becomes `{ Ref: 'X' }`,
 * `!GetAtt A.B` becomes `{ 'Fn::GetAtt': ['A', 'B'] }`, and so on). Throws {@link YamlSyntaxError}.
 *
 * @example
 * ```ts
 * parseCloudFormationYaml('Value: !Sub "${AWS::Region}"').value; // { Value: { 'Fn::Sub': '${AWS::Region}' } }
 * ```
 */
export function parseCloudFormationYaml(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, customTags, prettyErrors: false, uniqueKeys: true, strict: false });
  const first = doc.errors[0];
  if (first !== undefined) throw new YamlSyntaxError(first.message.split('\n')[0] ?? 'invalid yaml', lineCounter.linePos(first.pos[0]).line);
  const budget = { aliases: 0 };
  const value = toJs(doc.contents, doc, budget);
  return {
    value,
    lineOf(path) {
      // The key's line when the last step names a mapping key: that is where a resource starts.
      const parent = path.length === 0 ? doc.contents : (doc.getIn(path.slice(0, -1), true) as unknown);
      const last = path[path.length - 1];
      let offset: number | undefined;
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(last));
        offset = (pair?.key as Node | undefined)?.range?.[0];
      } else {
        offset = (doc.getIn(path, true) as Node | undefined)?.range?.[0];
      }
      return offset === undefined ? undefined : lineCounter.linePos(offset).line;
    },
  };
}

function toJs(node: unknown, doc: Document, budget: { aliases: number }): unknown {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) {
    budget.aliases += 1;
    if (budget.aliases > MAX_ALIASES) throw new YamlSyntaxError(`more than ${MAX_ALIASES} alias expansions`, undefined);
    return toJs(node.resolve(doc), doc, budget);
  }
  let value: unknown;
  if (isScalar(node)) value = node.value;
  else if (isSeq(node)) value = node.items.map((item) => toJs(item, doc, budget));
  else if (isMap(node)) {
    // INVARIANT: mappings are null-prototype objects: every key (a resource may be named
    // `constructor` or `__proto__`) is an own property and none reaches a prototype. Dropping such
    // keys would let a template hide a resource from every rule.
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = isScalar(pair.key) ? String(pair.key.value) : String(toJs(pair.key, doc, budget));
      out[key] = toJs(pair.value, doc, budget);
    }
    value = out;
  } else return null;
  const tag = (node as { tag?: string }).tag;
  const longForm = tag === undefined ? undefined : SHORT_FORMS[tag];
  if (longForm === undefined) return value;
  if (longForm === 'Fn::GetAtt' && typeof value === 'string') {
    const dot = value.indexOf('.');
    return { [longForm]: dot === -1 ? [value] : [value.slice(0, dot), value.slice(dot + 1)] };
  }
  return { [longForm]: value };
}

/** A JSON.parse reviver that turns every object into a null-prototype copy with the same own keys. */
function nullPrototype(_key: string, v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const out = Object.create(null) as Record<string, unknown>;
  for (const k of Object.keys(v)) out[k] = (v as Record<string, unknown>)[k];
  return out;
}

/**
 * Parses JSON strictly (JSON's grammar, not YAML's) into null-prototype objects, with the line of a
 * mapping key found by searching the text after its parent key. Throws {@link YamlSyntaxError}.
 *
 * @example
 * ```ts
 * parseJsonWithLines('{"Resources": {"Q": {}}}').lineOf(['Resources', 'Q']); // 1
 * ```
 */
export function parseJsonWithLines(text: string): ParsedYaml {
  let value: unknown;
  try {
    // INVARIANT: as for YAML, every key is kept as an own property of a null-prototype object.
    value = JSON.parse(text, nullPrototype);
  } catch (error) {
    const message = error instanceof Error ? error.message : 'invalid json';
    const position = /position (\d+)/.exec(message)?.[1];
    const line = /line (\d+)/.exec(message)?.[1] ?? (position === undefined ? undefined : String(text.slice(0, Number(position)).split('\n').length));
    throw new YamlSyntaxError(`invalid json: ${message.replace(/\s*\(line \d+ column \d+\)/, '').replace(/ in JSON at position \d+.*$/, '')}`, line === undefined ? undefined : Number(line));
  }
  let newlines: number[] | undefined;
  const lineAt = (offset: number) => {
    newlines ??= [...text.matchAll(/\n/g)].map((m) => m.index);
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((newlines[mid] ?? 0) < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
  return {
    value,
    lineOf(path) {
      let from = 0;
      for (const step of path) {
        if (typeof step !== 'string') continue;
        const re = new RegExp(`"${step.replace(/[.*+?^${}()|[\]\\"]/g, '\\$&')}"\\s*:`, 'g');
        re.lastIndex = from;
        const m = re.exec(text);
        if (m === null) return undefined;
        from = m.index;
      }
      return lineAt(from);
    },
  };
}
