// `palisade scan` throughput: templates per second on a generated corpus of 1,000 mixed templates
// (CloudFormation YAML/JSON, Serverless, Terraform HCL and plan JSON, Palisade manifests), read
// from disk, parsed, checked by every built-in rule, searched for secrets and formatted as JSON,
// as the CLI does. The reference is the target, 1,000 templates/s.
//
//   node dist/bench/scenarios/scan.js [--quick]     standalone: prints the rows as a table and JSON
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinRules, formatReport, loadTemplates, scanTemplates } from '../../src/scan/index.js';
import { writeScanCorpus } from './scan-corpus.js';

/** One benchmark row, as bench/run.ts prints them. */
export interface Row {
  scenario: string;
  metric: string;
  palisade: string;
  reference: string;
  ratio: string;
}

const TARGET_PER_SECOND = 1000;

async function scanOnce(dir: string): Promise<{ ms: number; cpuMs: number; templates: number; findings: number; failures: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const { templates, failures } = await loadTemplates([dir], dir);
  const report = scanTemplates(templates, builtinRules, { failures });
  formatReport(report, 'json', { failOn: 'low', toolVersion: 'bench' });
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - start, cpuMs: (used.user + used.system) / 1000, templates: templates.length, findings: report.findings.length, failures: failures.length };
}

/**
 * Runs the scan benchmark and returns its rows.
 *
 * @example
 * ```ts
 * const rows = await run({ quick: true });
 * ```
 */
export async function run(ctx: { readonly quick?: boolean } = {}): Promise<Row[]> {
  const rounds = ctx.quick === true ? 3 : 7;
  const dir = mkdtempSync(join(tmpdir(), 'palisade-scan-bench-'));
  try {
    const count = writeScanCorpus(dir, 1000).length;
    const cold = await scanOnce(dir); // includes loading HashiCorp's parser (WASM) once
    if (cold.templates !== count || cold.failures !== 0) throw new Error(`corpus: parsed ${cold.templates} of ${count}, ${cold.failures} failures`);
    const times: number[] = [];
    const cpuTimes: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const r = await scanOnce(dir);
      times.push(r.ms);
      cpuTimes.push(r.cpuMs);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
    const perSecond = (count / median(times)) * 1000;
    // CPU time of this process: what the scan costs, whatever else the machine is running.
    const perCpuSecond = (count / median(cpuTimes)) * 1000;
    const coldPerSecond = (count / cold.ms) * 1000;
    return [
      { scenario: `palisade scan, ${count} mixed templates (median of ${rounds})`, metric: 'templates/s', palisade: perSecond.toFixed(0), reference: `${TARGET_PER_SECOND} (target)`, ratio: `${(perSecond / TARGET_PER_SECOND).toFixed(2)}×` },
      { scenario: `palisade scan, per CPU-second of the scan process`, metric: 'templates/s', palisade: perCpuSecond.toFixed(0), reference: `${TARGET_PER_SECOND} (target)`, ratio: `${(perCpuSecond / TARGET_PER_SECOND).toFixed(2)}×` },
      { scenario: `palisade scan, first run (loads the HCL parser)`, metric: 'templates/s', palisade: coldPerSecond.toFixed(0), reference: `${TARGET_PER_SECOND} (target)`, ratio: `${(coldPerSecond / TARGET_PER_SECOND).toFixed(2)}×` },
      { scenario: `palisade scan, findings on the corpus`, metric: 'findings', palisade: String(cold.findings), reference: 'n/a', ratio: 'n/a' },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const isEntry = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isEntry) {
  const rows = await run({ quick: process.argv.includes('--quick') });
  console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${availableParallelism()} cores`);
  for (const r of rows) console.log(`${r.scenario.padEnd(58)} ${r.metric.padEnd(12)} ${r.palisade.padStart(7)}  vs ${r.reference.padEnd(14)} ${r.ratio}`);
  console.log(JSON.stringify(rows));
}
