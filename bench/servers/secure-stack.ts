// Reference: the "secure stack" a team would otherwise hand-build. fastify + jose JWT verification
// on every request + Cedar (official WASM engine) with ~50 policies + pino access log to a file +
// the handler run in an isolated-vm isolate. Plain HTTP on loopback, like the Palisade http row.
import { generateKeyPair, jwtVerify, SignJWT } from 'jose';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import Fastify from 'fastify';
import ivm from '../../src/runtime/load-isolated-vm.js';
import { pino, destination } from 'pino';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtempSync } from 'node:fs';

const ISSUER = 'https://idp.bench.local';
const AUDIENCE = 'bench-api';

async function main(): Promise<void> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const token = await new SignJWT({ roles: ['customer'] }).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('user-1').setIssuedAt().setExpirationTime('2h').sign(privateKey);

  // ~50 policies: one per route and role, the shape a manifest with 25 routes would generate.
  const policies: Record<string, string> = {};
  for (let i = 0; i < 25; i++) {
    policies[`route${i}-customer`] = `permit (principal in Role::"customer", action == Action::"invoke", resource == Route::"r${i}");`;
    policies[`route${i}-admin`] = `permit (principal in Role::"admin", action == Action::"invoke", resource == Route::"r${i}") when { context.mfa == true };`;
  }

  // Parsed once, as a competent team would: statefulIsAuthorized then reuses the parsed set.
  const parsed = cedar.preparsePolicySet('routes', { staticPolicies: policies });
  if (parsed.type !== 'success') throw new Error('policies failed to parse');

  const isolate = new ivm.Isolate({ memoryLimit: 64 });
  const context = await isolate.createContext();
  const handle = (await context.evalClosure(
    'return (req) => JSON.stringify({ message: "hello", ok: true, path: req.path }).length > 0 ? { status: 200, body: JSON.stringify({ message: "hello", ok: true }) } : null;',
    [],
    { result: { reference: true } },
  )) as ivm.Reference<(req: { path: string }) => { status: number; body: string }>;

  const logDir = mkdtempSync(join(tmpdir(), 'palisade-bench-stack-'));
  const logger = pino({ level: 'info' }, destination({ dest: join(logDir, 'access.log'), sync: false }));
  const app = Fastify({ logger: false });
  app.get('/hello', async (request, reply) => {
    const auth = request.headers.authorization;
    if (auth === undefined || !auth.startsWith('Bearer ')) return reply.code(401).send({ error: 'unauthenticated' });
    let sub: string;
    let roles: string[];
    try {
      const { payload } = await jwtVerify(auth.slice(7), publicKey, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['EdDSA'], typ: 'at+jwt' });
      sub = String(payload.sub);
      roles = (payload.roles as string[] | undefined) ?? [];
    } catch {
      return reply.code(401).send({ error: 'unauthenticated' });
    }
    const answer = cedar.statefulIsAuthorized({
      principal: { type: 'User', id: sub },
      action: { type: 'Action', id: 'invoke' },
      resource: { type: 'Route', id: 'r7' },
      context: { mfa: false, ip: request.ip },
      preparsedPolicySetId: 'routes',
      entities: [{ uid: { type: 'User', id: sub }, attrs: {}, parents: roles.map((r) => ({ type: 'Role', id: r })) }],
    });
    if (answer.type !== 'success' || answer.response.decision !== 'allow') return reply.code(403).send({ error: 'forbidden' });
    const out = (await handle.apply(undefined, [{ path: request.url }], { arguments: { copy: true }, result: { copy: true, promise: true }, timeout: 50 })) as { status: number; body: string };
    logger.info({ method: request.method, url: request.url, status: out.status, sub }, 'access');
    return reply.code(out.status).header('content-type', 'application/json').send(out.body);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ port: address.port, token })}\n`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

void main();
