export { runCli } from './main.js';
export { exitCodes, type CliIo } from './cli-io.js';
