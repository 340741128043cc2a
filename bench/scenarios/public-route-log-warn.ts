// Scenario: the public http route with `--log-level warn` (no per-request info lines), the
// gateway's and the workers' CPU per request measured apart. Shows how much of a request's cost
// is the operator log.
import { cli, firstLine, fmt, HELLO_SOURCE, launch, load, ratio, reportLoad, stop, writeBenchProject, type BenchScenario } from '../harness.js';
import { join } from 'node:path';

const scenario: BenchScenario = {
  name: 'public-route-log-warn',
  async run(ctx) {
    const project = writeBenchProject('name: bench\nfunctions:\n  hello:\n    source: functions/hello.ts\nroutes:\n  - { path: /hello, function: hello, public: true }\n', { 'functions/hello.ts': HELLO_SOURCE });
    const measure = async (level: 'info' | 'warn') => {
      const child = launch([cli, 'up', project, '--port', '0', '--json', '--log-level', level, '--allow-insecure-http'], {}, join(ctx.workDir, `${level}.log`));
      try {
        const info = await firstLine<{ url: string }>(child);
        const res = await load(`${info.url}/hello`, child);
        reportLoad(`palisade-http, --log-level ${level}`, res);
        return res;
      } finally {
        await stop(child);
      }
    };
    const info = await measure('info');
    const warn = await measure('warn');
    const cpu = (r: typeof info) => (r.cpuUsRoot ?? NaN) + (r.cpuUsChildren ?? NaN);
    return {
      rows: [
        { scenario: 'public route, http, --log-level warn', metric: `req/s [${warn.tool}]`, palisade: fmt(warn.rps), reference: `${fmt(info.rps)} (--log-level info)`, ratio: ratio(warn.rps, info.rps) },
        { scenario: 'public route, http, --log-level warn', metric: 'CPU µs per request', palisade: `${fmt(cpu(warn))} (gateway ${fmt(warn.cpuUsRoot)} + workers ${fmt(warn.cpuUsChildren)})`, reference: `${fmt(cpu(info))} (--log-level info)`, ratio: ratio(cpu(warn), cpu(info)) },
      ],
      data: { info, warn },
    };
  },
};

export default scenario;
