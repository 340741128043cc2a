import { Denial } from '../denial.js';
import type { RequestContext } from '../request-context.js';

/** Refuses new requests while the gateway drains for shutdown (503, `connection: close`). */
export function refuseWhileDraining(ctx: RequestContext): void {
  if (ctx.draining) throw new Denial('PAL_GATEWAY_SHUTTING_DOWN', 'shutting-down', 'the gateway is shutting down', { headers: [['connection', 'close']] });
}
