export { errorCatalog, errorCodes, type ErrorCode } from './error-codes.js';
export { PalisadeError, isPalisadeError, type PalisadeErrorOptions } from './palisade-error.js';
export {
  DiagnosticsError,
  formatDiagnostic,
  type Diagnostic,
  type SourceLocation,
  type ValidationResult,
} from './diagnostics.js';
export { systemClock, createManualClock, type Clock } from './clock.js';
export { createRequestId, isWellFormedId } from './ids.js';
export { safeJsonParse, type SafeJsonResult } from './safe-json.js';
export { constantTimeEqual } from './constant-time-equal.js';
export { logFields, type LogField, type LogRecord } from './log-fields.js';
export type { Principal, ClientCertificate } from './principal.js';
export { authFailureReasons, API_KEY_METHOD, BUILTIN_METHOD, MTLS_METHOD, type AuthFailureReason } from './auth-failure-reasons.js';
export { silentLogger, type Logger } from './logger.js';
export { decisionReasons, egressFailureReasons, secretAdminActions, type DecisionReason, type SecretAdminAction, type AuditEvent, type AuditSink } from './audit-event.js';
export { renderErrorReference } from './render-error-reference.js';
export { once } from './once.js';
