/**
 * Runs the runtime scenarios on their own and prints JSON: `node dist/bench/scenarios/run-runtime-scenarios.js`.
 * The bench runner may call the exported functions directly instead.
 */
import { measureHelloCpu } from './hello-cpu.js';
import { measureServiceBinding } from './service-binding.js';
import { measureSlowReaders } from './slow-readers.js';

const which = process.argv.slice(2);
const all = which.length === 0;
const out: Record<string, unknown> = {};
if (all || which.includes('binding')) out.serviceBinding = await measureServiceBinding();
if (all || which.includes('slow')) out.slowReaders = await measureSlowReaders();
if (all || which.includes('cpu')) out.helloCpu = await measureHelloCpu();
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
