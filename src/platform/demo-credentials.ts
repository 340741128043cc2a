import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '../kernel/index.js';
import type { Manifest } from '../manifest/index.js';
import { addUser, createApiKey, enrollMfa } from '../identity/index.js';
import { openProjectStore } from './api-key-admin.js';

/** Demo credentials, kept in plain text for the walkthrough. Never for production. */
export interface DemoCredentials {
  readonly username?: string;
  readonly password?: string;
  readonly totpSecret?: string;
  readonly totpQr?: string;
  readonly apiKey?: string;
  readonly file: string;
}

/**
 * Creates (once) a demo user with MFA and a demo API key, and keeps them in plain text in
 * `.palisade/demo-credentials.json` (0600) so every start can print them. Weakens security:
 * only behind `palisade up --unsafe-demo-credentials`.
 */
export async function ensureDemoCredentials(manifest: Manifest, clock: Clock = systemClock): Promise<DemoCredentials> {
  const file = join(manifest.projectDir, '.palisade', 'demo-credentials.json');
  const saved = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Omit<DemoCredentials, 'file'>) : {};
  const next: Record<string, string> = { ...(saved as Record<string, string>) };
  const store = await openProjectStore(manifest);
  try {
    if (manifest.identity.builtin.enabled && (await store.users.findByUsername('demo')) === undefined) {
      const password = randomBytes(15).toString('base64url');
      await addUser(store, { username: 'demo', password, roles: ['customer'] }, clock);
      const mfa = await enrollMfa(store, 'demo', `Palisade ${manifest.name} demo`);
      Object.assign(next, { username: 'demo', password, totpSecret: mfa.secret, totpQr: mfa.qr });
    }
    const savedKey = next.apiKey;
    const keyAlive = savedKey !== undefined && (await store.apiKeys.find(savedKey.slice(4, 20)))?.revokedAt === null;
    if (manifest.identity.apiKeys.enabled && !keyAlive) {
      const key = createApiKey({ name: 'demo', roles: ['customer'], expiresAt: null }, clock);
      await store.apiKeys.insert(key.record);
      next.apiKey = key.plaintext;
    }
  } finally {
    await store.close();
  }
  writeFileSync(file, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { ...next, file };
}
