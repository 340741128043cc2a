import { errorCatalog, errorCodes } from './error-codes.js';

/** Renders `docs/reference/errors.md` from the catalog. Generated; never edit the output. */
export function renderErrorReference(): string {
  const lines = [
    '# Error reference',
    '',
    '<!-- Generated from src/kernel/error-codes.ts by `npm run generate`. Do not edit. -->',
    '',
    'Every error Palisade reports carries a stable code. Clients see it in the `code` member of an',
    'RFC 9457 `application/problem+json` body together with a `requestId`; the CLI prints it as',
    '`error CODE: message`. Codes are never renamed or reused.',
    '',
  ];
  for (const code of errorCodes) {
    const { status, meaning, fix } = errorCatalog[code];
    lines.push(`## \`${code}\``, '', `- HTTP status: ${status}`, `- Meaning: ${meaning}.`, `- Fix: ${fix}.`, '');
  }
  return lines.join('\n');
}
