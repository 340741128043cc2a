import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (the folder holding package.json), from this compiled file's location. */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
