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
  /** The name of a secret (never its value). */
  'secretName',
  /** The id of a key-encryption key (never the key). */
  'kekId',
  /** A file path (key ring, state store). */
  'file',
] as const;

/** One permitted log field name. */
export type LogField = (typeof logFields)[number];

/** A structured log record restricted to the vocabulary. */
export type LogRecord = Partial<Record<LogField, string | number | boolean>>;
