/**
 * Secret detection: known credential formats anywhere, and high-entropy literals under names
 * that suggest a secret. Values are masked before they leave this module.
 */

/** A known credential format. */
interface SecretPattern {
  readonly name: string;
  readonly pattern: RegExp;
}

const KNOWN_FORMATS: readonly SecretPattern[] = [
  { name: 'AWS access key id', pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g },
  { name: 'private key', pattern: /-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----/g },
  { name: 'GitHub token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/g },
  { name: 'Slack token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g },
  { name: 'Stripe live key', pattern: /\b[rs]k_live_[A-Za-z0-9]{20,}\b/g },
  { name: 'Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  { name: 'SendGrid API key', pattern: /\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b/g },
  { name: 'npm token', pattern: /\bnpm_[A-Za-z0-9]{36}\b/g },
  { name: 'JSON Web Token', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
];

/** Names that suggest a secret value. */
const SUSPICIOUS_NAME = /(pass(word|wd|phrase)?|secret|token|api[_-]?key|apikey|private[_-]?key|credential|auth[_-]?key|access[_-]?key|client[_-]?secret|signing[_-]?key|db[_-]?url|connection[_-]?string)/i;
/** Names that hold metadata about a secret, not the secret. */
const METADATA_NAME = /(arn|_id|id$|name$|_name|policy|length|rotation|ttl|version|type|enabled|path|file|header|url$|uri$|expir|count|kms)/i;
/** Values that point at a secret instead of holding it. */
const REFERENCE_VALUE = /^(\$\{|\{\{resolve:|arn:|!Ref|!Sub|!GetAtt|!ImportValue|ssm:|secretsmanager:|env\.|process\.env|var\.|local\.)/;

/** Shannon entropy in bits per character. */
export function shannonEntropy(value: string): number {
  if (value.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/**
 * Masks a secret for display: the first four characters of long values, then asterisks.
 * INVARIANT: the full value never appears in a finding, a report or a log.
 *
 * @example
 * ```ts
 * maskSecret('AKIAABCDEFGHIJKLMNOP'); // 'AKIA****************'
 * ```
 */
export function maskSecret(value: string): string {
  if (value.length < 12) return '*'.repeat(Math.max(8, value.length));
  return `${value.slice(0, 4)}${'*'.repeat(Math.min(value.length - 4, 16))}`;
}

/** A secret found in text. */
export interface SecretHit {
  readonly kind: string;
  readonly masked: string;
  readonly line: number;
  /** The key the value sits under, when the line has one. */
  readonly name?: string;
  /** `known-format` or `high-entropy`. */
  readonly detector: 'known-format' | 'high-entropy';
}

/** True when a literal value under `name` looks like a secret by name and entropy. */
export function isSuspiciousAssignment(name: string, value: string): boolean {
  if (!SUSPICIOUS_NAME.test(name) || METADATA_NAME.test(name)) return false;
  const v = value.trim();
  if (v.length < 8 || REFERENCE_VALUE.test(v) || v.includes('${') || /\s/.test(v)) return false;
  return shannonEntropy(v) >= 3;
}

/** Known credential formats inside one value. */
export function findKnownFormats(value: string): { kind: string; match: string }[] {
  const out: { kind: string; match: string }[] = [];
  for (const { name, pattern } of KNOWN_FORMATS) {
    for (const m of value.matchAll(pattern)) out.push({ kind: name, match: m[0] });
  }
  return out;
}

// `key: value`, `key = "value"`, `"key": "value"`, `KEY=value`, several per line in flow mappings.
const PAIR = /["']?([A-Za-z0-9_.-]+)["']?\s*[:=]\s*(?:"([^"]*)"|'([^']*)'|([^\s,{}[\]"']+))/g;
const INLINE_OPENER = /^\s*(?:-\s*)?["']?([A-Za-z0-9_.-]+)["']?\s*:\s*\{/;

const OPENER = /^\s*["']?([A-Za-z0-9_.-]+)["']?\s*:\s*\{?\s*$/;
const HCL_BLOCK = /^\s*[A-Za-z_]+\s+"([^"]+)"\s*\{\s*$/;
const GENERIC_NAME = /^(value|default)$/i;
const GENERIC_IN_LINE = /["']?(value|default)["']?\s*[:=]/i;

/**
 * Finds secrets in every line of a file.
 *
 * @example
 * ```ts
 * detectSecrets('key: AKIAABCDEFGHIJKLMNOP')[0]?.masked; // 'AKIA****************'
 * ```
 */
export function detectSecrets(text: string): SecretHit[] {
  const cached = memo.get(text);
  if (cached !== undefined) return cached;
  const hits = scanLines(text);
  // Two rules read the same file's secrets; keep the last few results.
  if (memo.size > 8) memo.clear();
  memo.set(text, hits);
  return hits;
}

const memo = new Map<string, SecretHit[]>();
/** Any known format anywhere: a file without one skips the per-line search. */
const ANY_KNOWN = new RegExp(KNOWN_FORMATS.map((k) => k.pattern.source).join('|'));

function scanLines(text: string): SecretHit[] {
  const hits: SecretHit[] = [];
  const hasKnown = ANY_KNOWN.test(text);
  const lines = text.split('\n');
  // `Default:`/`"value":`/`default =` take the name of the mapping or block they sit in.
  let opener: string | undefined;
  lines.forEach((lineText, index) => {
    const line = index + 1;
    if (lineText.length > 4096) return; // minified blobs: not a place for credentials we can report on a line
    const open = OPENER.exec(lineText) ?? HCL_BLOCK.exec(lineText) ?? INLINE_OPENER.exec(lineText);
    if (open?.[1] !== undefined) opener = open[1];
    const lineHasKnown = hasKnown && ANY_KNOWN.test(lineText);
    // Only lines with a known format or a secret-like name (own or inherited) need the pair search.
    if (!lineHasKnown && !SUSPICIOUS_NAME.test(lineText) && !(opener !== undefined && SUSPICIOUS_NAME.test(opener) && GENERIC_IN_LINE.test(lineText))) return;
    const pairs = [...lineText.matchAll(PAIR)].map((m) => ({ own: m[1] ?? '', value: m[2] ?? m[3] ?? m[4] ?? '' }));
    const nameOf = (own: string) => (GENERIC_NAME.test(own) && opener !== undefined ? opener : own);
    const firstName = pairs[0] === undefined ? undefined : nameOf(pairs[0].own);
    const known = lineHasKnown ? findKnownFormats(lineText) : [];
    for (const k of known) {
      const pair = pairs.find((p) => p.value.includes(k.match));
      const name = pair === undefined ? firstName : nameOf(pair.own);
      hits.push({ kind: k.kind, masked: maskSecret(k.match), line, detector: 'known-format', ...(name === undefined ? {} : { name }) });
    }
    if (known.length > 0) return;
    for (const pair of pairs) {
      const name = nameOf(pair.own);
      if (isSuspiciousAssignment(name, pair.value)) {
        hits.push({ kind: 'high-entropy value', masked: maskSecret(pair.value), line, name, detector: 'high-entropy' });
        break;
      }
    }
  });
  return hits;
}
