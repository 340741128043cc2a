import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Principal } from '../kernel/index.js';
import { validateManifestText, type Manifest } from '../manifest/index.js';

/** A manifest from YAML text in a fresh project directory holding `files` (function sources are not checked). */
export function manifestFrom(text: string, files: Readonly<Record<string, string>> = {}): Manifest {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-policy-'));
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), content);
  }
  writeFileSync(join(dir, 'palisade.yaml'), text);
  const result = validateManifestText({ text, file: join(dir, 'palisade.yaml'), projectDir: dir, checkFiles: false });
  if (!result.ok || result.value === undefined) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.value;
}

/** A small shop-like manifest: customer routes, an admin-only route, a step-up route, a binding. */
export const SHOP = `name: shop
identity:
  builtin: { enabled: true, mfa: optional }
  apiKeys: { enabled: true }
segments:
  payments: { allowCallsFrom: [default] }
functions:
  orders:
    source: orders.ts
    bindings: { BILLING: { type: service, function: billing } }
  billing: { source: billing.ts, segment: payments }
  reports: { source: reports.ts }
routes:
  - { path: /orders, methods: [GET, POST], function: orders, allow: { roles: [customer, admin] } }
  - { path: /admin, function: reports }
  - { path: /refund, methods: [POST], function: orders, allow: { roles: [admin] }, mfa: required }
  - { path: /mine, function: orders, allow: { users: ["builtin:u-42"], apiKeys: [k1] } }
  - { path: /keys, function: orders, allow: { issuers: [api-key] } }
  - { path: /public, function: orders, public: true }
`;

/** The issuer URL of built-in tokens in these tests. */
export const BUILTIN_ISSUER = 'https://127.0.0.1:8443/_palisade/auth';

/** A built-in user principal. */
export function user(id: string, roles: readonly string[], extra: Partial<Principal> = {}): Principal {
  return { type: 'User', id, roles, mfa: false, authMethod: 'builtin', issuer: BUILTIN_ISSUER, ...extra };
}

/** The facts of a GET from a loopback client at a fixed time. */
export const FACTS = { clientIp: '127.0.0.1', time: Date.UTC(2026, 0, 5, 10, 0, 0), method: 'GET' } as const;
