/**
 * The closed vocabulary of log field names. A log line may carry only these fields; bodies,
 * tokens, claims, query strings and header values are never logged.
 */
export const logFields = [
  'requestId',
  'action',
  'method',
  'route',
  'status',
  'durationMs',
  'code',
  'reason',
  'authFailure',
  'function',
  'segment',
  'workerPid',
  'level',
  'msg',
  'address',
  'count',
  'exitCode',
  'signal',
  'policyIds',
] as const;

/** One permitted log field name. */
export type LogField = (typeof logFields)[number];

/** A structured log record restricted to the vocabulary. */
export type LogRecord = Partial<Record<LogField, string | number | boolean>>;
