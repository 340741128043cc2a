import type { Step } from './request-context.js';
import { assignRequestId } from './steps/assign-request-id.js';
import { authenticate } from './steps/authenticate.js';
import { authorize } from './steps/authorize.js';
import { invokeFunction } from './steps/invoke-function.js';
import { rateLimit } from './steps/rate-limit.js';
import { readBody } from './steps/read-body.js';
import { resolveRoute } from './steps/resolve-route.js';
import { serveAuthEndpoint } from './steps/serve-auth-endpoint.js';
import { serveHealth } from './steps/serve-health.js';

/**
 * The request path, in order (DESIGN.md "The path of one request"). A step that sets
 * `ctx.response` ends the table (the built-in health endpoint); any step denies by throwing;
 * the gateway then answers with problem+json. Responding (step 8: security headers) and audit
 * (step 9) happen for every request, allowed or not, in `create-gateway.ts`.
 */
export const requestPipeline: readonly Step[] = Object.freeze([
  assignRequestId,
  serveHealth,
  serveAuthEndpoint,
  resolveRoute,
  authenticate,
  authorize,
  readBody,
  rateLimit,
  invokeFunction,
]);
