import { toDenial } from './denial.js';
import type { RequestContext, Step } from './request-context.js';
import { assignRequestId } from './steps/assign-request-id.js';
import { authenticate } from './steps/authenticate.js';
import { authorize } from './steps/authorize.js';
import { buildReply } from './steps/build-reply.js';
import { checkContentHeaders } from './steps/check-content-headers.js';
import { checkHttpFraming } from './steps/check-http-framing.js';
import { invokeFunction } from './steps/invoke-function.js';
import { prepareFunctionRequest } from './steps/prepare-function-request.js';
import { limitAddress, rateLimit } from './steps/rate-limit.js';
import { readBody } from './steps/read-body.js';
import { recordAudit } from './steps/record-audit.js';
import { refuseWhileDraining } from './steps/refuse-while-draining.js';
import { resolveRoute } from './steps/resolve-route.js';
import { sendReply } from './steps/send-reply.js';
import { serveAdminEndpoint } from './steps/serve-admin-endpoint.js';
import { serveAuthEndpoint } from './steps/serve-auth-endpoint.js';
import { serveHealth } from './steps/serve-health.js';
import { validateBody } from './steps/validate-body.js';

/** One entry of the table: a deciding step, or a finishing step that runs for every request. */
export interface PipelineEntry {
  readonly step: Step;
  /** `decide`: skipped once a response or a denial exists. `finish`: always runs, in order. */
  readonly phase: 'decide' | 'finish';
}

const decide = (step: Step): PipelineEntry => Object.freeze({ step, phase: 'decide' });
const finish = (step: Step): PipelineEntry => Object.freeze({ step, phase: 'finish' });

/**
 * The whole path of a request, top to bottom (DESIGN.md "The path of one request").
 *
 * Deciding steps run in order until one sets `ctx.response` (allowed: a function or a built-in
 * endpoint answered) or throws a `Denial` (refused: the denial carries status, reason and
 * headers). Finishing steps then run for every request, allowed or not: the reply is built with
 * the security headers, the decision is recorded (fail closed), and the reply is released.
 *
 * Limits come before the work they protect: the address limit before authentication, the
 * route limit before the body is read and validated (CONVENTIONS §17: count before the
 * expensive work), which is why `rateLimit` precedes `validateBody` here.
 */
export const requestPipeline: readonly PipelineEntry[] = Object.freeze([
  decide(assignRequestId), //        request id, client address
  decide(refuseWhileDraining), //    503 while shutting down
  decide(checkHttpFraming), //       400/501: one valid Host, chunked only, no body on GET/HEAD
  decide(serveHealth), //            GET /_palisade/health answers here
  decide(limitAddress), //           429: gateway-wide limit per address
  decide(serveAuthEndpoint), //      built-in identity endpoints answer here
  decide(serveAdminEndpoint), //     admin API: authenticate, Cedar decides the operator action, 401/403
  decide(resolveRoute), //           400 bad path, 404, 405
  decide(authenticate), //           401
  decide(authorize), //              403
  decide(rateLimit), //              429: the route's limit per caller or address
  decide(checkContentHeaders), //    415: content type and coding the route accepts
  decide(readBody), //               413; decodes a declared coding, bounded
  decide(validateBody), //           400 malformed / 422 schema, before any function runs
  decide(prepareFunctionRequest), // strip credentials, set Forwarded, pin the origin
  decide(invokeFunction), //         the function answers
  finish(buildReply), //             respond: the response, or the denial as problem+json
  finish(recordAudit), //            record: one audit event; fail closed
  finish(sendReply), //              release: security headers, request id
]);

/**
 * Runs a table on one request. A deciding step that throws ends the deciding phase with the
 * thrown value as a `Denial` (anything that is not one becomes an internal error). Finishing
 * steps handle their own failures (`recordAudit` withholds the response when it cannot record).
 *
 * @example
 * ```ts
 * await runPipeline(ctx, requestPipeline);
 * ```
 */
export async function runPipeline(ctx: RequestContext, table: readonly PipelineEntry[]): Promise<void> {
  for (const entry of table) {
    if (entry.phase === 'decide') {
      if (ctx.response !== undefined || ctx.denial !== undefined) continue;
      try {
        await entry.step(ctx);
      } catch (error) {
        ctx.denial = toDenial(error);
      }
    } else {
      await entry.step(ctx);
    }
  }
}
