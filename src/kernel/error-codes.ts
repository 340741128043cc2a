/**
 * The catalog of every `PAL_*` error code: its HTTP status, what it means and how to fix it.
 *
 * `docs/reference/errors.md` is generated from this list and a test fails when the two drift.
 * INVARIANT: a code, once published, is never renamed or reused for another meaning.
 *
 * @example
 * ```ts
 * errorCatalog.PAL_GATEWAY_ROUTE_NOT_FOUND.status; // 404
 * ```
 */
export const errorCatalog = {
  PAL_INTERNAL: {
    status: 500,
    meaning: 'an unexpected internal failure; the request id ties the client answer to the operator log',
    fix: 'look up the request id in the gateway log; report it if it is a defect',
  },
  PAL_CLI_USAGE: {
    status: 400,
    meaning: 'the command line names an unknown command or flag, or misses an argument',
    fix: 'run `palisade --help` or `palisade <command> --help`',
  },
  PAL_MANIFEST_NOT_FOUND: {
    status: 400,
    meaning: 'no `palisade.yaml` in the project directory',
    fix: 'run the command in a project directory, pass the directory, or create one with `palisade init`',
  },
  PAL_MANIFEST_UNREADABLE: {
    status: 400,
    meaning: 'the manifest file exists but cannot be read',
    fix: 'check the file permissions of `palisade.yaml`',
  },
  PAL_MANIFEST_YAML_SYNTAX: {
    status: 400,
    meaning: 'the manifest is not well-formed YAML',
    fix: 'correct the YAML at the reported line and column',
  },
  PAL_MANIFEST_UNKNOWN_KEY: {
    status: 400,
    meaning: 'the manifest has a key the schema does not define (often a typo)',
    fix: 'remove the key or correct its spelling; the hint names the closest valid key',
  },
  PAL_MANIFEST_MISSING_KEY: {
    status: 400,
    meaning: 'a required key is missing',
    fix: 'add the key named in the message',
  },
  PAL_MANIFEST_INVALID_VALUE: {
    status: 400,
    meaning: 'a value has the wrong type, format or range',
    fix: 'change the value as the hint says; `docs/manifest.md` lists every key and its bounds',
  },
  PAL_MANIFEST_UNKNOWN_FUNCTION: {
    status: 400,
    meaning: 'a route or binding references a function the manifest does not declare',
    fix: 'declare the function under `functions` or correct the name',
  },
  PAL_MANIFEST_UNKNOWN_SEGMENT: {
    status: 400,
    meaning: 'a function, a secret (`secrets.<name>.segment`) or a segment rule references a segment the manifest does not declare',
    fix: 'declare the segment under `segments` or correct the name',
  },
  PAL_MANIFEST_SEGMENT_CROSSING: {
    status: 400,
    meaning: 'a service binding calls a function in another segment, or a function is granted (or rotates) a secret of another segment, and no segment rule (`segments.<target>.allowCallsFrom`, `segments.<owner>.allowSecretReadsFrom`) lets its segment in, so the generated policies would refuse it; or a secret is granted in several segments and declares none',
    fix: 'add the function\'s segment to `allowCallsFrom` of the target segment or to `allowSecretReadsFrom` of the secret\'s segment, declare `secrets.<name>.segment` for a secret held in several segments, move the function, or remove the grant',
  },
  PAL_MANIFEST_ROUTE_CONFLICT: {
    status: 400,
    meaning: 'two routes can match the same method and path, so the winner would be ambiguous',
    fix: 'make the paths distinct (a literal segment and a parameter in the same position overlap)',
  },
  PAL_MANIFEST_INVALID_PATH: {
    status: 400,
    meaning: 'a route path is not a clean absolute path of literal and `:param` segments',
    fix: 'use paths like `/api/orders/:id`: no dot segments, empty segments, wildcards or encoded characters',
  },
  PAL_MANIFEST_SOURCE_NOT_FOUND: {
    status: 400,
    meaning: 'a function `source` file does not exist inside the project',
    fix: 'create the file or correct the path (relative to the manifest, inside the project)',
  },
  PAL_MANIFEST_INVALID_BODY_SCHEMA: {
    status: 400,
    meaning: 'a route `schema` file cannot be read, is not JSON, or is not a valid JSON Schema (draft 2020-12 or draft-07 as ajv compiles it)',
    fix: 'give a path relative to the manifest of a JSON file that ajv compiles; the message names the schema error',
  },
  PAL_MANIFEST_UNKNOWN_ROLE: {
    status: 400,
    meaning: 'a warning: `allow.roles` names a role the manifest\'s `roles` section does not declare (often a typo)',
    fix: 'declare the role under `roles`, or correct the name; roles are compared as exact strings',
  },
  PAL_MANIFEST_INSECURE_SETTING: {
    status: 400,
    meaning: 'a setting weakens security in a way this context does not allow',
    fix: 'follow the hint; insecure switches are listed in `docs/security/defaults.md`',
  },
  PAL_RUNTIME_BUILD_FAILED: {
    status: 400,
    meaning: 'a function failed to bundle or compile (syntax or type error, missing import)',
    fix: 'fix the function source at the reported file and line',
  },
  PAL_RUNTIME_ENGINE_MISSING: {
    status: 500,
    meaning: 'no isolated-vm build that fits the running Node.js is installed (Palisade supports Node 20 and Node 24 or newer)',
    fix: 'run `npm ci` (or reinstall Palisade) with the Node.js that runs it, allowing install scripts for `isolated-vm`; see docs/runtime.md, "Node versions"',
  },
  PAL_RUNTIME_FUNCTION_THREW: {
    status: 500,
    meaning: 'the function threw or returned something other than a `Response`',
    fix: 'see the function log lines for this request id',
  },
  PAL_RUNTIME_CPU_LIMIT: {
    status: 503,
    meaning: 'the function used more CPU time than `limits.cpuMs` allows; its isolate was recycled',
    fix: 'make the function cheaper or raise `limits.cpuMs`',
  },
  PAL_RUNTIME_TIMEOUT: {
    status: 504,
    meaning: 'the function did not answer within `limits.timeoutMs`; its isolate was recycled',
    fix: 'make sure every promise settles, or raise `limits.timeoutMs`',
  },
  PAL_RUNTIME_MEMORY_LIMIT: {
    status: 503,
    meaning: 'the function exceeded `limits.memoryMb`; its isolate (or its worker process) was recycled',
    fix: 'use less memory or raise `limits.memoryMb`',
  },
  PAL_RUNTIME_RESPONSE_TOO_LARGE: {
    status: 502,
    meaning: 'the function response body is larger than `limits.maxResponseBytes`',
    fix: 'return a smaller body or raise `limits.maxResponseBytes`',
  },
  PAL_RUNTIME_WORKER_CRASHED: {
    status: 503,
    meaning: 'the worker process hosting the function died while the request was in flight; it is restarted',
    fix: 'retry; if it repeats, the function log shows what it was doing (a memory bomb aborts its worker)',
  },
  PAL_RUNTIME_UNAVAILABLE: {
    status: 503,
    meaning: 'the function worker is not ready (starting, restarting or shutting down)',
    fix: 'retry after a moment',
  },
  PAL_RUNTIME_BUSY: {
    status: 503,
    meaning: 'every isolate of the function is busy and its queue (`limits.queue`) is full, or the request waited longer than `limits.timeoutMs` for a free isolate',
    fix: 'retry after the `Retry-After` delay; raise `limits.concurrency`, `limits.queue` or the segment `workers` if it is steady load',
  },
  PAL_RUNTIME_LOAD_FAILING: {
    status: 503,
    meaning: 'a segment worker failed to load its functions several times in a row; restarts are backed off (circuit breaker) and the segment answers 503 meanwhile',
    fix: 'read the operator log line, which names the function and why it failed to load; fix it and redeploy',
  },
  PAL_RUNTIME_WORKER_FAULT: {
    status: 503,
    meaning: 'a worker process broke the gateway protocol (malformed or unexpected message, unusable channel); it was killed and restarted',
    fix: 'retry; the operator log line names the segment and the rule the message broke (an escaped or corrupted worker)',
  },
  PAL_RUNTIME_BINDING_DENIED: {
    status: 403,
    meaning: 'a binding call was refused: the binding is not granted to the calling function, the call chain is too deep, or it re-enters a function already in the chain',
    fix: 'grant the binding in the manifest (`bindings: { NAME: { type: service, function: … } }`) or restructure the calls',
  },
  PAL_RUNTIME_BINDING_FAILED: {
    status: 502,
    meaning: 'a binding call failed: its target failed or timed out, its arguments or result exceeded the size limits, or the invocation ended first',
    fix: 'see the operator log for the request id; make the target cheaper or the payload smaller',
  },
  PAL_EGRESS_BAD_URL: {
    status: 400,
    meaning: 'an outbound request names a url that is not an absolute `http:`/`https:` url, carries userinfo (`user:pass@`), or has no usable host',
    fix: 'pass an absolute `https://host/path` url; send credentials in a header, never in the url',
  },
  PAL_EGRESS_BAD_REQUEST: {
    status: 400,
    meaning: 'an outbound request has a forbidden method (`CONNECT`, `TRACE`), an invalid header, a `Host` header naming another host, or a body over the size limit',
    fix: 'drop the header or method; the guard sets `Host` and framing headers itself',
  },
  PAL_EGRESS_INSECURE_SCHEME: {
    status: 403,
    meaning: 'an outbound request (or a redirect) uses plain `http:` and the egress grant for that host does not allow it',
    fix: 'use `https:`; if the host truly has no TLS, grant it with `allowInsecureHttp: true` (logged at start)',
  },
  PAL_EGRESS_NOT_GRANTED: {
    status: 403,
    meaning: 'the function has no egress grant for this host and port (a redirect to another host needs its own grant)',
    fix: 'add the host (and port, if not the default) to the function\'s `egress` list in the manifest',
  },
  PAL_EGRESS_POLICY_DENIED: {
    status: 403,
    meaning: 'the host is granted, but the egress policy decision (Cedar action `egress`) denied the call',
    fix: 'see the audit record for the determining policy ids; change the policy if the call should be allowed',
  },
  PAL_EGRESS_PRIVATE_ADDRESS: {
    status: 403,
    meaning: 'the host is, or resolves to, a private, loopback, link-local, multicast, reserved or cloud-metadata address (SSRF protection); one such address among the answers is enough',
    fix: 'call a public address; to reach an internal service on purpose, grant that host with `allowPrivateNetwork: true` (logged at start)',
  },
  PAL_EGRESS_DNS_FAILED: {
    status: 502,
    meaning: 'the host name of an outbound request could not be resolved',
    fix: 'check the host name and the resolvers of the gateway machine',
  },
  PAL_EGRESS_CONNECT_FAILED: {
    status: 502,
    meaning: 'the outbound connection failed: refused, reset, or the tls handshake failed (including a certificate that does not match the host name)',
    fix: 'check that the host serves https with a certificate valid for its name; the operator log names the cause',
  },
  PAL_EGRESS_TOO_MANY_REDIRECTS: {
    status: 502,
    meaning: 'an outbound request was redirected more times than the limit allows',
    fix: 'call the final url directly, or raise the redirect limit',
  },
  PAL_EGRESS_RESPONSE_TOO_LARGE: {
    status: 502,
    meaning: 'an outbound response body exceeded the size limit; the connection was closed',
    fix: 'ask the remote service for less data (paging, ranges), or raise the response limit',
  },
  PAL_EGRESS_TIMEOUT: {
    status: 504,
    meaning: 'an outbound request (resolution, connection, redirects and body together) took longer than its time limit; the connection was closed',
    fix: 'make the remote call cheaper, or raise the egress time limit',
  },
  PAL_EGRESS_CANCELLED: {
    status: 503,
    meaning: 'an outbound request was cancelled by its caller (the invocation ended or was aborted) before it finished',
    fix: 'none needed when the invocation was meant to end; otherwise give the invocation more time',
  },
  PAL_RUNTIME_SECRET_DENIED: {
    status: 403,
    meaning: 'a function read a secret it may not read: not granted in its `secrets`, refused by a policy (`readSecret`), missing, or unavailable. The function sees the same message for each, so it cannot probe names; the audit record says which',
    fix: 'grant the secret in the manifest (`secrets: [name]`), check custom `forbid` policies on `readSecret`, and that the secret exists (`palisade audit search --action readSecret`)',
  },
  PAL_GATEWAY_BAD_PATH: {
    status: 400,
    meaning: 'the request path has encoded slashes or backslashes, dot segments, empty segments or control characters',
    fix: 'send a canonical path; Palisade never normalises paths, it rejects them',
  },
  PAL_GATEWAY_ROUTE_NOT_FOUND: {
    status: 404,
    meaning: 'no route matches the path',
    fix: 'check the path against the manifest routes',
  },
  PAL_GATEWAY_METHOD_NOT_ALLOWED: {
    status: 405,
    meaning: 'the path exists but not for this method',
    fix: 'use one of the methods in the `allow` response header',
  },
  PAL_GATEWAY_BODY_TOO_LARGE: {
    status: 413,
    meaning: 'the request body exceeds the route body limit',
    fix: 'send a smaller body or raise the route `maxBodyBytes`',
  },
  PAL_GATEWAY_REQUEST_TIMEOUT: {
    status: 408,
    meaning: 'the client was too slow to send the request',
    fix: 'send the request promptly',
  },
  PAL_GATEWAY_UNAUTHENTICATED: {
    status: 401,
    meaning: 'the route is private and the request carries no accepted proof of identity',
    fix: 'authenticate with a method the route accepts, or mark the route `public: true` if it really is public',
  },
  PAL_GATEWAY_FORBIDDEN: {
    status: 403,
    meaning: 'the caller is authenticated but a policy decision denied the request',
    fix: 'ask an administrator for the role or permission the route requires',
  },
  PAL_GATEWAY_STEP_UP_REQUIRED: {
    status: 401,
    meaning: 'a policy requires multi-factor authentication for this request and the caller\'s proof had none (RFC 9470 `insufficient_user_authentication`)',
    fix: 'sign in again with a second factor (TOTP for built-in users, an MFA-backed login at the identity provider) and retry with the new token',
  },
  PAL_GATEWAY_SHUTTING_DOWN: {
    status: 503,
    meaning: 'the gateway is draining and accepts no new requests',
    fix: 'retry against another node or after the restart',
  },
  PAL_GATEWAY_BAD_REQUEST: {
    status: 400,
    meaning: 'the request is malformed: a missing, repeated or malformed `host` header (userinfo, bad port), an empty `transfer-encoding`, or a body on `GET`/`HEAD`',
    fix: 'send one `host` header naming the server, `chunked` as the only transfer coding, and no body on `GET` or `HEAD`',
  },
  PAL_GATEWAY_NOT_IMPLEMENTED: {
    status: 501,
    meaning: 'the request uses a transfer coding other than `chunked` (RFC 9112 section 6.1)',
    fix: 'send the body with `content-length` or `transfer-encoding: chunked` only',
  },
  PAL_GATEWAY_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    meaning: 'the body has a content type the route does not accept, or a content encoding (such as `gzip`) the route does not declare',
    fix: 'send one of the route `contentTypes`; compress the body only when the route lists the encoding in `contentEncodings`',
  },
  PAL_GATEWAY_MALFORMED_BODY: {
    status: 400,
    meaning: 'the JSON body cannot be parsed, or exceeds the gateway limits on nesting depth or key count',
    fix: 'send well-formed JSON within the documented depth and key limits',
  },
  PAL_GATEWAY_INVALID_BODY: {
    status: 422,
    meaning: 'the body does not match the route JSON Schema; the problem lists each error with its JSON pointer',
    fix: 'correct the fields named in `errors[].pointer`',
  },
  PAL_GATEWAY_RATE_LIMITED: {
    status: 429,
    meaning: 'the caller exceeded a rate limit (the route `rateLimit` or the gateway per-address limit)',
    fix: 'wait for the number of seconds in the `retry-after` header; `ratelimit-*` headers show the quota',
  },
  PAL_GATEWAY_CLIENT_ABORTED: {
    status: 499,
    meaning: 'the client closed the connection before the response was sent; recorded as its own outcome, never sent',
    fix: 'nothing to fix on the server; the client gave up (check client timeouts)',
  },
  PAL_GATEWAY_LISTEN_FAILED: {
    status: 500,
    meaning: 'the gateway could not listen on the address (port in use, or no permission)',
    fix: 'choose another port with `--port`, or stop the process holding the port',
  },
  PAL_GATEWAY_TLS_FAILED: {
    status: 500,
    meaning: 'the TLS certificate or key could not be created or loaded',
    fix: 'check the `gateway.tls` paths, or delete `.palisade/tls/` to regenerate the local CA',
  },
  PAL_IDENTITY_KEY_NOT_FOUND: {
    status: 404,
    meaning: 'no active api key has that id (it never existed, or was revoked)',
    fix: 'list the keys with `palisade apikeys list` and use the id shown there',
  },
  PAL_IDENTITY_USER_NOT_FOUND: {
    status: 404,
    meaning: 'no built-in user has that username',
    fix: 'list the users with `palisade users list`',
  },
  PAL_IDENTITY_INVALID_ACCOUNT: {
    status: 400,
    meaning: 'a username, role or password does not meet the rules (passwords: at least 12 characters, not containing the username)',
    fix: 'follow the message; `docs/identity.md` lists the rules',
  },
  PAL_IDENTITY_LOGIN_FAILED: {
    status: 401,
    meaning: 'the login, refresh or logout was refused; the reason (wrong password, wrong or replayed code, locked account, spent refresh token) is in the operator log, never in the answer',
    fix: 'check the username, password and current TOTP code; an operator can see the reason by request id',
  },
  PAL_IDENTITY_THROTTLED: {
    status: 429,
    meaning: 'too many logins from this address (or its IPv6 /64), or too many password checks waiting at once',
    fix: 'wait for the number of seconds in the `retry-after` header',
  },
  PAL_IDENTITY_BAD_REQUEST: {
    status: 400,
    meaning: 'the authentication request is not a JSON object (login) or form (token endpoint) with the expected string fields',
    fix: 'send `content-type: application/json` and a body such as `{"username": "...", "password": "...", "totp": "123456"}`, or to `/token` an `application/x-www-form-urlencoded` body per RFC 6749',
  },
  PAL_IDENTITY_CRL_INVALID: {
    status: 500,
    meaning: 'a CRL file named in `identity.mtls.crls` cannot be read, is not a CRL, or is not signed by a CA in `identity.mtls.ca`',
    fix: 'export the CRL (PEM or DER) from the CA that issues the client certificates, or remove it from the manifest',
  },
  PAL_POLICY_SYNTAX: {
    status: 400,
    meaning: 'a `.cedar` policy file does not parse',
    fix: 'correct the Cedar syntax at the reported line (see https://docs.cedarpolicy.com/policies/syntax-policy.html)',
  },
  PAL_POLICY_INVALID: {
    status: 400,
    meaning: 'a policy does not validate against the Palisade Cedar schema (strict mode): an unknown entity type, action or attribute, or an ill-typed expression',
    fix: 'correct the policy at the reported line; the types and attributes are listed in `docs/reference/cedar-schema.md`',
  },
  PAL_POLICY_DUPLICATE_ID: {
    status: 400,
    meaning: 'two policies have the same `@id`',
    fix: 'give each policy a unique `@id("…")` annotation',
  },
  PAL_POLICY_FILE_NOT_FOUND: {
    status: 400,
    meaning: 'a file listed under `policies:` in the manifest does not exist or cannot be read',
    fix: 'give `.cedar` files relative to the manifest, inside the project',
  },
  PAL_POLICY_EVALUATION_ERROR: {
    status: 500,
    meaning: 'a policy raised an error while a request was evaluated (for example a missing attribute); Cedar skips such a policy, so it grants nothing',
    fix: 'guard optional attributes with `has`; `palisade policy explain` shows the failing policy',
  },
  PAL_POLICY_UNAVAILABLE: {
    status: 500,
    meaning: 'the policy engine failed to answer; the request was denied',
    fix: 'see the operator log for the request id',
  },
  PAL_POLICY_RELOAD_PARTIAL: {
    status: 500,
    meaning: 'a policy reload (SIGHUP) applied the new policies, but the manifest also changed routes, functions, segments or identity, which apply only at a restart',
    fix: 'restart the node (`palisade up`) to apply the other changes',
  },
  PAL_POLICY_TEST_INVALID: {
    status: 400,
    meaning: 'a policy test file (`policies/tests/*.yaml`) is malformed',
    fix: 'each test needs `name`, `principal`, `action`, `resource` and `expect: allow|deny`; see docs/authorization.md',
  },
  PAL_SECRETS_INVALID_NAME: {
    status: 400,
    meaning: 'a secret name or KV key does not have the allowed form (secret names: lowercase `^[a-z0-9][a-z0-9-_.]{0,127}$`; KV keys: 1 to 512 bytes of UTF-8)',
    fix: 'use a lowercase name of letters, digits, `-`, `_` and `.`, starting with a letter or digit',
  },
  PAL_SECRETS_NOT_FOUND: {
    status: 404,
    meaning: 'no secret (or no such version or pending version) of that name exists, or it is deleted',
    fix: 'check the name with `palisade secrets list`; a deleted secret comes back with `palisade secrets restore NAME`',
  },
  PAL_SECRETS_INVALID_STATE: {
    status: 409,
    meaning: 'the operation does not fit the secret\'s state: it is deleted (restore it first), not deleted (purge needs a delete first), still inside its recovery window, or a KEK is still in use',
    fix: 'follow the hint in the message; `palisade secrets versions NAME` shows the state',
  },
  PAL_SECRETS_VALUE_INVALID: {
    status: 400,
    meaning: 'a secret value is empty or larger than 64 KiB, or was offered on the command line',
    fix: 'pipe the value on standard input or pass `--file F`; never put a secret value in argv',
  },
  PAL_SECRETS_KV_TOO_LARGE: {
    status: 413,
    meaning: 'a KV value is larger than 1 MiB, or a KV key larger than 512 bytes',
    fix: 'store large data elsewhere and keep a reference in KV',
  },
  PAL_SECRETS_DECRYPT_FAILED: {
    status: 500,
    meaning: 'a stored ciphertext or wrapped data key failed authentication: it was modified, moved to another row, or damaged; nothing of it was used',
    fix: 'restore `.palisade/state.db` from a backup; the audit log and `palisade secrets versions` show which secret is affected',
  },
  PAL_SECRETS_KEY_UNAVAILABLE: {
    status: 500,
    meaning: 'no key-encryption key (KEK) could be loaded: the key file is missing, unreadable or malformed, or `PALISADE_MASTER_KEY` is not 32 bytes of base64',
    fix: 'restore the key ring file `.palisade/master.key` from its backup or set `PALISADE_MASTER_KEY`; see docs/secrets.md',
  },
  PAL_SECRETS_KEY_MISMATCH: {
    status: 500,
    meaning: 'the state store\'s data keys are wrapped under a KEK that is not in the loaded key ring (a wrong or old master key); nothing was decrypted',
    fix: 'load the key ring that was used with this state store (`.palisade/master.key` or `PALISADE_MASTER_KEY`); a lost KEK cannot be recovered',
  },
  PAL_SECRETS_KEY_FILE_INSECURE: {
    status: 500,
    meaning: 'the key ring file is readable or writable by other users, or is owned by another user',
    fix: 'run `chmod 600 .palisade/master.key` and make sure the user running palisade owns it',
  },
  PAL_SECRETS_ROTATION_FAILED: {
    status: 500,
    meaning: 'a rotation of a secret failed (its rotation function answered a non-2xx status, threw, timed out or answered `create` with something other than `{"value": "…"}`); the pending value was discarded and the current version is unchanged',
    fix: 'read the operator log line (`reason`, `step`) and the function\'s own logs, fix the rotation function or the downstream system; the rotation is retried after its lease (5 minutes) or run now with `POST /_palisade/admin/secrets/NAME/rotate` and body `{}`',
  },
  PAL_SECRETS_ROTATION_UNAVAILABLE: {
    status: 409,
    meaning: 'a rotation was asked for a secret that has no rotation function in the manifest (`secrets.NAME.rotation`), or another rotation of it is running or holds its lease',
    fix: 'declare `secrets: { NAME: { rotation: { function: F, every: 30d } } }` in palisade.yaml, or wait for the running rotation; a value can always be rotated by hand with a body `{"value": "…"}`',
  },
  PAL_STORE_UNAVAILABLE: {
    status: 500,
    meaning: 'the state store cannot be opened or written (for example `.palisade/` is not writable)',
    fix: 'check the permissions of the `.palisade/` directory in the project',
  },
  PAL_STORE_MIGRATION_FAILED: {
    status: 500,
    meaning: 'the state store schema could not be migrated, or is newer than this version of palisade',
    fix: 'upgrade palisade, or restore `.palisade/state.db` from a backup',
  },
  PAL_AUDIT_UNAVAILABLE: {
    status: 503,
    meaning: 'the audit log cannot record the request durably (disk full, read-only or I/O error); the request is refused so that nothing passes unaudited',
    fix: 'free space or restore write access to `.palisade/audit.db`; service resumes by itself once the log is writable again',
  },
  PAL_AUDIT_CHAIN_BROKEN: {
    status: 500,
    meaning: 'the audit log failed verification: a record or checkpoint was changed, removed, reordered, forged or rolled back',
    fix: 'treat it as an incident: keep the files, compare them with the witness copy and backups; the report names the first bad sequence number and why',
  },
  PAL_AUDIT_KEYS_INVALID: {
    status: 400,
    meaning: 'the audit verification key file (`.palisade/audit.pub` or `--key`) or a signing key is missing, malformed or does not belong to this log',
    fix: 'pass the exported key file of this instance with `--key`; it is written by the node on its first start',
  },
  PAL_AUDIT_LOG_MISSING: {
    status: 500,
    meaning: 'the audit log `.palisade/audit.db` is gone while its signing keys (`audit.pub`, `audit-keys/`) remain: the log was deleted or moved, and starting a new chain would hide that',
    fix: 'restore `audit.db` (and its `-wal`) from a backup; to start a new chain on purpose, move `audit.pub` and `audit-keys/` aside first (keep them: they verify the old log)',
  },
  PAL_AUDIT_ARCHIVE_REFUSED: {
    status: 409,
    meaning: '`palisade audit archive` refused to prune: a live sink has not delivered the events yet, the archive file exists, or the log changed while the archive was written',
    fix: 'let the sink catch up or archive less (`--before-seq`), choose another `--out`, or run the command again; nothing was pruned',
  },
  PAL_AUDIT_ARCHIVED: {
    status: 410,
    meaning: 'the requested audit event was archived and pruned from the live log',
    fix: 'find it in the archive file named by the archive checkpoint (`palisade audit verify --archive FILE` checks it) and keep that file with the key file',
  },
  PAL_AUDIT_NOT_FOUND: {
    status: 404,
    meaning: 'the audit log or the requested record does not exist',
    fix: 'check the project directory and the sequence number; the log is created by the node on its first start',
  },
  PAL_PROJECT_EXISTS: {
    status: 400,
    meaning: '`palisade init` would overwrite an existing project file',
    fix: 'run `palisade init` in an empty directory',
  },
  PAL_SCAN_PATH_NOT_FOUND: {
    status: 400,
    meaning: 'a path given to `palisade scan` does not exist or cannot be read',
    fix: 'pass existing files or directories; paths are relative to the current directory',
  },
  PAL_SCAN_PARSE_FAILED: {
    status: 400,
    meaning: 'a template could not be parsed (malformed YAML, JSON or HCL); the scan goes on with the other files',
    fix: 'correct the syntax at the reported line, or exclude the file from the scan',
  },
  PAL_SCAN_BASELINE_INVALID: {
    status: 400,
    meaning: 'the `--baseline` file is missing, not JSON, or does not match the baseline format',
    fix: 'see the baseline format in `docs/scan.md`; every entry needs `ruleId`, `fingerprint` and a `reason`',
  },
} as const satisfies Record<string, { status: number; meaning: string; fix: string }>;

/** A stable Palisade error code, such as `PAL_GATEWAY_BAD_PATH`. */
export type ErrorCode = keyof typeof errorCatalog;

/** Every code in catalog order. */
export const errorCodes = Object.keys(errorCatalog) as ErrorCode[];
