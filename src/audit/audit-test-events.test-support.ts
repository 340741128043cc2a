import type { AuditEvent } from '../kernel/index.js';

/** A realistic decision event number `i`, for tests and benchmarks. */
export function makeTestEvent(i: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    time: 1_764_662_400_000 + i,
    requestId: `req-${i.toString(36).padStart(8, '0')}`,
    action: 'invoke',
    outcome: i % 7 === 0 ? 'deny' : 'allow',
    reason: i % 7 === 0 ? 'policy-denied' : 'allowed',
    status: i % 7 === 0 ? 403 : 200,
    method: 'GET',
    route: '/api/orders/:id',
    function: 'orders',
    principal: { type: 'User', id: `user-${i % 13}`, issuer: 'https://idp.example.com', authMethod: 'oidc', mfa: i % 2 === 0 },
    clientIp: `10.0.${i % 200}.${i % 250}`,
    userAgent: 'curl/8.5.0',
    durationMs: (i % 50) / 10,
    policyIds: ['palisade:route-auth'],
    ...overrides,
  };
}
