import { createInterface } from 'node:readline';
import { PalisadeError } from '../kernel/index.js';

/**
 * Reads a secret from standard input (`--password-stdin`) or, on a terminal, from a prompt that
 * does not echo. Secrets never come from argv: it is visible to other users in the process list.
 */
export async function readSecret(prompt: string, fromStdin: boolean): Promise<string> {
  if (fromStdin) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    if (text === '') throw new PalisadeError('PAL_CLI_USAGE', 'standard input was empty; pipe the password in, for example `printf %s "$PW" | palisade …`');
    return text;
  }
  if (!process.stdin.isTTY) throw new PalisadeError('PAL_CLI_USAGE', 'no terminal to prompt on; use --password-stdin');
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const write = (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput.bind(rl);
    let prompted = false;
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
      if (!prompted) {
        prompted = true;
        write(s);
      }
    };
    rl.question(prompt, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}
