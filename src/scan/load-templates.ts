import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { PalisadeError } from '../kernel/index.js';
import { MANIFEST_FILE } from '../manifest/index.js';
import type { ParseFailure, Template } from './model.js';
import { isCloudFormation, parseCloudFormation } from './parse-cloudformation.js';
import { parsePalisade } from './parse-palisade.js';
import { parseServerless, SERVERLESS_FILES } from './parse-serverless.js';
import { HclSyntaxError, isTerraformPlan, parseTerraform, parseTerraformPlan } from './parse-terraform.js';
import { parseCloudFormationYaml, parseJsonWithLines, YamlSyntaxError } from './parse-yaml.js';
import { isRecord } from './values.js';

/** Directories never walked into. */
const SKIPPED_DIRS = new Set(['node_modules', '.git', '.terraform', '.palisade', '.serverless', '.aws-sam', 'cdk.out', 'dist']);
/** Files larger than this are reported, not parsed. */
export const MAX_TEMPLATE_BYTES = 5 * 1024 * 1024;
const CANDIDATE = /\.(ya?ml|json|template|tf)$/i;

/** Files under the given paths that may be templates, sorted, without duplicates. */
export function discoverFiles(paths: readonly string[]): string[] {
  const out = new Set<string>();
  const walk = (dir: string, depth: number) => {
    if (depth > 32) return;
    let entries: string[];
    try {
      entries = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = join(dir, entry);
      let stat;
      try {
        stat = statSync(full);
      } catch {
        continue;
      }
      if (stat.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry)) walk(full, depth + 1);
      } else if (stat.isFile() && CANDIDATE.test(entry)) out.add(full);
    }
  };
  for (const p of paths) {
    let stat;
    try {
      stat = statSync(p);
    } catch (error) {
      throw new PalisadeError('PAL_SCAN_PATH_NOT_FOUND', `path \`${p}\` does not exist`, { cause: error });
    }
    if (stat.isDirectory()) walk(p, 0);
    else out.add(p);
  }
  return [...out];
}

/** The result of loading: parsed templates and the files that failed, each with a reason. */
export interface LoadResult {
  readonly templates: Template[];
  readonly failures: ParseFailure[];
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
/** A parser's message is cut here: one failure stays one line of the report. */
const MAX_FAILURE_MESSAGE = 300;

function failureOf(file: string, error: unknown): ParseFailure {
  if (error instanceof YamlSyntaxError || error instanceof HclSyntaxError) {
    return { file, message: error.message.toLowerCase().slice(0, MAX_FAILURE_MESSAGE), ...(error.line === undefined ? {} : { line: error.line }) };
  }
  return { file, message: error instanceof Error ? error.message.split('\n')[0]?.toLowerCase().slice(0, MAX_FAILURE_MESSAGE) ?? 'unreadable' : 'unreadable' };
}

/**
 * Parses one file's text into a template, or returns undefined when the file is not a template
 * this scanner reads (any YAML or JSON file that is not CloudFormation, Serverless, a Terraform
 * plan or a Palisade manifest). Throws on malformed input.
 */
export async function parseTemplateText(file: string, text: string, readSource: (relativePath: string) => string | undefined = () => undefined): Promise<Template | undefined> {
  const name = basename(file);
  if (/\.tf$/i.test(name)) return parseTerraform(file, text);
  const parsed = /\.json$/i.test(name) ? parseJsonWithLines(text) : parseCloudFormationYaml(text);
  if (name === MANIFEST_FILE) return parsePalisade(file, text, parsed, readSource);
  if ((SERVERLESS_FILES as readonly string[]).includes(name)) return parseServerless(file, text, parsed);
  if (isTerraformPlan(parsed.value) && isRecord(parsed.value)) return parseTerraformPlan(file, text, parsed.value);
  if (isCloudFormation(parsed.value)) return parseCloudFormation(file, text, parsed);
  return undefined;
}

const TEMPLATE_MARKERS = /AWSTemplateFormatVersion|^\s*Resources\s*:|"Resources"\s*:|"planned_values"|"format_version"|^\s*"?functions"?\s*:/m;

function looksLikeTemplate(full: string): boolean {
  const name = basename(full);
  if (/\.tf$/i.test(name) || name === MANIFEST_FILE || (SERVERLESS_FILES as readonly string[]).includes(name)) return true;
  try {
    return TEMPLATE_MARKERS.test(readFileSync(full, 'utf8').slice(0, 65536));
  } catch {
    return true;
  }
}

/** Reads a function source named by a manifest, only inside the project directory. */
function sourceReader(manifestFile: string): (relativePath: string) => string | undefined {
  const projectDir = resolve(dirname(manifestFile));
  return (relativePath) => {
    try {
      const full = realpathSync(resolve(projectDir, relativePath));
      // INVARIANT: a manifest never makes the scanner read outside its project directory.
      if (full !== projectDir && !full.startsWith(realpathSync(projectDir) + sep)) return undefined;
      return readFileSync(full, 'utf8');
    } catch {
      return undefined;
    }
  };
}


/** The outcome of loading one file. */
export type FileOutcome = { readonly template?: Template; readonly failure?: ParseFailure };

/**
 * Reads and parses one file. A malformed file becomes a failure; a file that is not a template
 * gives neither.
 */
export async function loadFile(full: string, file: string): Promise<FileOutcome> {
  try {
    const size = statSync(full).size;
    if (size > MAX_TEMPLATE_BYTES) return { failure: { file, message: `file is larger than ${MAX_TEMPLATE_BYTES} bytes` } };
    const bytes = readFileSync(full);
    // Templates are UTF-8 text. A binary file would make a parser report every byte (HCL: one
    // diagnostic each, megabytes of report and seconds per file): refuse it as one failure.
    if (bytes.includes(0)) throw new Error('the file is binary, not utf-8 text');
    let text: string;
    try {
      text = UTF8.decode(bytes);
    } catch {
      throw new Error('the file is not valid utf-8 text');
    }
    const template = await parseTemplateText(file, text, sourceReader(full));
    return template === undefined ? {} : { template };
  } catch (error) {
    // A malformed file is reported when it is a template by name or by content; other
    // YAML/JSON files (JSON with comments, CI configs) are not this scanner's business.
    return looksLikeTemplate(full) ? { failure: failureOf(file, error) } : {};
  }
}

/**
 * Finds and parses every template under `paths`. A malformed file becomes a failure with a
 * clear message and the scan goes on; a missing path throws `PAL_SCAN_PATH_NOT_FOUND`.
 *
 * @example
 * ```ts
 * const { templates, failures } = await loadTemplates(['infra/']);
 * ```
 */
export async function loadTemplates(paths: readonly string[], cwd = process.cwd()): Promise<LoadResult> {
  const files = discoverFiles(paths).map((full) => ({ full, file: relative(cwd, full) || full }));
  const outcomes = await loadInThread(files);
  const templates: Template[] = [];
  const failures: ParseFailure[] = [];
  for (const o of outcomes) {
    if (o.template !== undefined) templates.push(o.template);
    if (o.failure !== undefined) failures.push(o.failure);
  }
  return { templates, failures };
}

async function loadInThread(files: readonly { full: string; file: string }[]): Promise<FileOutcome[]> {
  const out: FileOutcome[] = [];
  for (const f of files) out.push(await loadFile(f.full, f.file));
  return out;
}
