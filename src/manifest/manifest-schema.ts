/**
 * The one schema of `palisade.yaml`. The editor JSON Schema (`schema/palisade.schema.json`) and
 * the reference (`docs/manifest.md`) are generated from it; a test fails when they drift.
 *
 * Every object is closed (`additionalProperties: false`): a typo is an error, never ignored.
 */

const NAME_PATTERN = '^[a-z][a-z0-9-]{0,62}$';
const BINDING_NAME_PATTERN = '^[A-Z][A-Z0-9_]{0,62}$';
const ROLE_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$';
/** Secret names, as the vault stores them (lowercase; dots, dashes and underscores inside). */
export const SECRET_NAME_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,127}$';
const QUALIFIED_PATTERN = '^[a-z][a-z0-9-]{0,62}:[^\\s\\u0000-\\u001f]{1,256}$';

const functionLimits = {
  type: 'object',
  description: 'Resource limits for one function. Exceeding one recycles its isolate and answers 503/504.',
  additionalProperties: false,
  default: {},
  properties: {
    memoryMb: {
      type: 'integer',
      minimum: 8,
      maximum: 2048,
      default: 64,
      description: 'V8 heap limit of the function isolate, in MiB.',
    },
    cpuMs: {
      type: 'integer',
      minimum: 1,
      maximum: 30000,
      default: 50,
      description: 'CPU time one request may use inside the isolate, in milliseconds (time spent awaiting the host is not counted).',
    },
    timeoutMs: {
      type: 'integer',
      minimum: 10,
      maximum: 300000,
      default: 5000,
      description: 'Wall-clock time one request may take, in milliseconds; covers awaits and timers.',
    },
    maxResponseBytes: {
      type: 'integer',
      minimum: 1,
      maximum: 67108864,
      default: 1048576,
      description: 'Largest response body the function may return, in bytes.',
    },
    concurrency: {
      type: 'integer',
      minimum: 1,
      maximum: 256,
      default: 4,
      description: 'Requests one worker process runs at once for this function, each in its own isolate (so a segment runs up to `workers × concurrency`).',
    },
    queue: {
      type: 'integer',
      minimum: 0,
      maximum: 10000,
      default: 64,
      description: 'Requests that may wait for a free isolate; one more is refused with 503 and `Retry-After`. Waiting does not count toward `timeoutMs`.',
    },
  },
} as const;

const binding = {
  type: 'object',
  description: 'A typed binding placed on the function `env` under the binding name: a value, or a capability.',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: {
      enum: ['text', 'json', 'service'],
      description: '`text`: a string; `json`: any JSON value, deep-frozen inside the isolate; `service`: `env.NAME.fetch(request)` calls another function through the gateway.',
    },
    value: { description: 'The value (`text` and `json`). For `text` a string.' },
    function: { type: 'string', pattern: NAME_PATTERN, description: 'The function a `service` binding calls (the grant: nothing else is callable).' },
  },
} as const;

const egressGrant = {
  type: 'object',
  description: 'One host the function (or every function of the segment) may call with `fetch()`. Every call is still a policy decision (Cedar action `egress`) and an audit event.',
  additionalProperties: false,
  required: ['host'],
  properties: {
    host: {
      type: 'string',
      minLength: 1,
      maxLength: 253,
      description: 'An exact host name or IP literal (`api.stripe.com`, `10.0.0.5`, `[fd00::5]`), or `*.suffix` for every name strictly under the suffix (not the suffix itself). Compared on the canonical name: lowercase, IDNA, no trailing dot.',
    },
    ports: {
      type: 'array',
      minItems: 1,
      maxItems: 16,
      uniqueItems: true,
      items: { type: 'integer', minimum: 1, maximum: 65535 },
      description: 'Ports the function may call; default: the scheme default only (443, or 80 with `allowInsecureHttp`).',
    },
    allowPrivateNetwork: {
      type: 'boolean',
      default: false,
      description: 'Let this host be, or resolve to, a private, loopback or link-local address (an internal service). Weakens SSRF protection for this host. Logs `PAL_MANIFEST_INSECURE_SETTING` at start.',
    },
    allowInsecureHttp: {
      type: 'boolean',
      default: false,
      description: 'Let this host be called over plain `http:`. Weakens security: requests and answers travel in clear. Logs `PAL_MANIFEST_INSECURE_SETTING` at start.',
    },
  },
} as const;

/** A list of egress grants (a function's or a segment's). */
const egressList = (description: string) => ({ type: 'array', description, maxItems: 64, items: egressGrant, default: [] }) as const;

const functionSpec = {
  type: 'object',
  description: 'A function: a Web-standard module (`export default { fetch(request, env, ctx) }`).',
  additionalProperties: false,
  required: ['source'],
  properties: {
    source: {
      type: 'string',
      minLength: 1,
      description: 'Entry file, relative to the manifest (TypeScript or JavaScript). npm dependencies are bundled.',
    },
    segment: {
      type: 'string',
      pattern: NAME_PATTERN,
      default: 'default',
      description: 'The segment whose worker processes host this function. Functions in different segments never share a process.',
    },
    limits: functionLimits,
    bindings: {
      type: 'object',
      description: 'The function `env`: exactly these bindings and nothing else.',
      propertyNames: { pattern: BINDING_NAME_PATTERN },
      additionalProperties: binding,
      default: {},
    },
    egress: egressList(
      'Hosts the function may reach with `fetch()`; none by default (besides its segment\'s `egress`). Each call is made by the gateway: resolved once, refused for private addresses, redirects re-checked (docs/segmentation.md).',
    ),
    secrets: {
      type: 'array',
      description: 'Secrets the function may read with `await env.secrets.get(name)` (a grant: each name becomes a generated Cedar `readSecret` permit that a custom `forbid` can narrow). Values never appear in the manifest.',
      items: { type: 'string', pattern: SECRET_NAME_PATTERN },
      uniqueItems: true,
      maxItems: 64,
      default: [],
    },
    kv: {
      type: 'boolean',
      default: false,
      description: 'Grants `env.kv`: the function\'s own encrypted key-value namespace (`get`, `put`, `delete`, `list`). Keys 1–512 bytes, values up to 1 MiB.',
    },
  },
} as const;

const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

const issuer = {
  type: 'object',
  description: 'An external OpenID Connect issuer whose access tokens are accepted.',
  additionalProperties: false,
  required: ['name', 'issuer', 'audience', 'algorithms'],
  properties: {
    name: { type: 'string', pattern: NAME_PATTERN, description: 'Name routes use in `auth` to accept this issuer.' },
    issuer: { type: 'string', minLength: 1, maxLength: 2048, description: 'The exact `iss` value. Discovery is read from `<issuer>/.well-known/openid-configuration`; must be https.' },
    audience: { type: 'string', minLength: 1, maxLength: 512, description: 'The `aud` value tokens must carry for this deployment.' },
    algorithms: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { enum: ASYMMETRIC_ALGORITHMS },
      description: 'Signature algorithms accepted. Asymmetric only: `none` and HMAC are never accepted.',
    },
    rolesClaim: { type: 'string', minLength: 1, maxLength: 128, default: 'roles', description: 'Claim holding the caller roles (an array, or a space-separated string).' },
    clockSkewSec: { type: 'integer', minimum: 0, maximum: 300, default: 60, description: 'Tolerance for `exp`, `nbf` and `iat`, in seconds.' },
    jwksCooldownSec: { type: 'integer', minimum: 1, maximum: 3600, default: 30, description: 'Least time between two fetches of the issuer keys; a token with an unknown `kid` triggers at most one fetch per interval.' },
    maxTokenBytes: { type: 'integer', minimum: 512, maximum: 65536, default: 8192, description: 'Largest token accepted, checked before parsing.' },
    typ: { type: 'string', minLength: 1, maxLength: 64, default: 'at+jwt', description: 'Required `typ` header of access tokens (RFC 9068 section 2.1: `at+jwt`). Tokens with another or no `typ`, or with a `cty`, are refused.' },
    maxTokenLifetimeSec: { type: 'integer', minimum: 60, maximum: 604800, default: 86400, description: 'Longest token lifetime accepted: both `exp - iat` and `exp - now` (plus the clock skew), in seconds.' },
    allowInsecureUntypedTokens: { type: 'boolean', default: false, description: 'Accept tokens with no `typ` header (or `typ: JWT`), for providers that do not issue RFC 9068 access tokens. Weakens security: an ID token of the same audience then passes as an access token. Logs `PAL_MANIFEST_INSECURE_SETTING` at start.' },
    requiredClaims: { type: 'array', uniqueItems: true, items: { type: 'string', minLength: 1 }, default: [], description: 'Claims that must be present besides iss, aud, exp, iat and sub.' },
    mfaAmr: { type: 'array', uniqueItems: true, items: { type: 'string', minLength: 1 }, default: [], description: '`amr` values (RFC 8176) this issuer uses for a second factor, such as `mfa`, `otp`, `hwk`.' },
    mfaAcr: { type: 'array', uniqueItems: true, items: { type: 'string', minLength: 1 }, default: [], description: '`acr` values this issuer uses for a second factor.' },
    allowInsecureHttpIssuer: { type: 'boolean', default: false, description: 'Accept an `http://` issuer. Weakens security; refused unless the issuer host is loopback. For local identity providers in development only.' },
  },
} as const;

const identity = {
  type: 'object',
  description: 'How callers authenticate. Without it, every private route answers 401.',
  additionalProperties: false,
  default: {},
  properties: {
    issuers: { type: 'array', items: issuer, default: [], description: 'External OpenID Connect issuers.' },
    builtin: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Built-in users with passwords (argon2id) and TOTP MFA, for teams without an identity provider.',
      properties: {
        enabled: { type: 'boolean', default: false, description: 'Serve `/_palisade/auth/login`, `/refresh`, `/logout` and accept built-in tokens.' },
        mfa: { enum: ['required', 'optional'], default: 'required', description: '`required`: a user without TOTP enrolled cannot log in.' },
        accessTokenTtlSec: { type: 'integer', minimum: 60, maximum: 3600, default: 600, description: 'Lifetime of an access token.' },
        refreshTokenTtlSec: { type: 'integer', minimum: 300, maximum: 7776000, default: 2592000, description: 'Lifetime of a refresh token (each use rotates it).' },
        lockout: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'Account lockout after repeated failures.',
          properties: {
            maxFailures: { type: 'integer', minimum: 3, maximum: 20, default: 5, description: 'Failed logins in a row that lock the account.' },
            lockSec: { type: 'integer', minimum: 60, maximum: 86400, default: 900, description: 'How long a locked account stays locked.' },
          },
        },
      },
    },
    mtls: {
      type: 'object',
      additionalProperties: false,
      required: ['ca'],
      description: 'Client certificates (mutual TLS). Routes accept them only when their `auth` lists `mtls`.',
      properties: {
        ca: { type: 'string', minLength: 1, description: 'PEM bundle of the CAs that issue client certificates, relative to the manifest.' },
        crls: { type: 'array', default: [], maxItems: 32, items: { type: 'string', minLength: 1 }, description: 'Certificate revocation lists (PEM or DER, relative to the manifest), each signed by a CA of `ca`; read at start. Certificates revoked with `palisade certs revoke` are refused as well.' },
        principalFrom: { enum: ['san-uri', 'subject'], default: 'san-uri', description: '`san-uri`: the first URI in subjectAltName (such as a SPIFFE ID); `subject`: the subject CN.' },
      },
    },
    apiKeys: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'API keys for machines (`palisade apikeys create`).',
      properties: { enabled: { type: 'boolean', default: false, description: 'Accept API keys.' } },
    },
  },
} as const;

const RATE_PATTERN = '^[1-9][0-9]{0,8}/(s|sec|second|m|min|minute|h|hour)$';

/** A rate: `100/min`, or `{ rate, burst, by }`. */
const rateLimit = {
  description: 'A rate limit: `N/s`, `N/min` or `N/hour` (fixed windows), or `{ rate, burst, by }`. Over the limit: 429 with `retry-after` and `ratelimit-*` headers.',
  oneOf: [
    { type: 'string', pattern: RATE_PATTERN },
    {
      type: 'object',
      additionalProperties: false,
      required: ['rate'],
      properties: {
        rate: { type: 'string', pattern: RATE_PATTERN, description: 'Requests per window, such as `100/min`.' },
        burst: { type: 'integer', minimum: 0, maximum: 1000000, description: 'Extra requests allowed once the window is spent (default 0); the burst pool refills over ten windows.' },
        by: { enum: ['principal', 'address'], description: 'Count per caller (`principal`, the default on private routes: issuer and subject) or per client address (`address`, the default and only choice on public routes; IPv6 per /64).' },
      },
    },
  ],
} as const;

const MEDIA_TYPE = "^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$";

const route = {
  type: 'object',
  description: 'A route: method(s) and path to a function. Private unless `public: true`.',
  additionalProperties: false,
  required: ['path', 'function'],
  properties: {
    path: {
      type: 'string',
      minLength: 1,
      maxLength: 1024,
      description: 'Absolute path of literal segments and `:param` segments, such as `/api/orders/:id`.',
    },
    methods: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { enum: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] },
      default: ['GET'],
      description: 'HTTP methods the route accepts.',
    },
    function: { type: 'string', pattern: NAME_PATTERN, description: 'Name of the function that handles the route.' },
    public: {
      type: 'boolean',
      default: false,
      description: 'When true the route needs no authentication. Every public route is reported by the scanner.',
    },
    maxBodyBytes: {
      type: 'integer',
      minimum: 0,
      maximum: 67108864,
      default: 1048576,
      description: 'Largest request body accepted on this route, in bytes.',
    },
    auth: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', pattern: NAME_PATTERN },
      description: 'Authentication methods this private route accepts: `builtin`, issuer names, `api-key` and `mtls`. Default: every configured method except `mtls`, which a route must name.',
    },
    schema: {
      type: 'object',
      description: 'A JSON Schema file per method (relative to the manifest), such as `{ POST: schemas/order.json }`. Compiled once at load (ajv, with formats); a body that does not match gets 422 problem+json listing each error with its JSON pointer, before any function runs. Implies `contentTypes: [application/json]`.',
      propertyNames: { enum: ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] },
      additionalProperties: { type: 'string', minLength: 1 },
      minProperties: 1,
    },
    contentTypes: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', pattern: MEDIA_TYPE },
      description: 'Media types (lowercase, no parameters) a request body may have; any other gets 415. Default: any type, or `application/json` when the route has a `schema`.',
    },
    contentEncodings: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { enum: ['gzip', 'deflate', 'br'] },
      description: 'Content codings the route accepts; the gateway decodes them (the decoded size counts against `maxBodyBytes`) and the function sees the plain body. Any other `content-encoding` gets 415.',
    },
    allow: {
      type: 'object',
      description: 'Who may call this private route; each list is one Cedar `permit` policy (`route:<METHODS> <path>#allow.<list>`). A caller matching any list is allowed. Without `allow`, a private route is reachable only by principals with the `admin` role (and `palisade validate` warns).',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        roles: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: ROLE_PATTERN }, description: 'Roles, any of which admits the caller (from the token\'s roles claim, or the built-in user\'s roles).' },
        users: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: QUALIFIED_PATTERN }, description: 'Callers by `<issuer-name>:<subject>`, such as `builtin:alice` or `corp:248289761001`; the issuer is always part of the name.' },
        apiKeys: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' }, description: 'API keys by their principal id (`palisade apikeys list`).' },
        issuers: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: NAME_PATTERN }, description: 'Every caller of these authentication methods (issuer names, `builtin`, `api-key`, `mtls`).' },
      },
    },
    mfa: {
      enum: ['required', 'optional'],
      default: 'optional',
      description: '`required`: a Cedar `forbid` (`route:<METHODS> <path>#mfa`) refuses callers whose proof had no second factor; such a caller gets 401 with `WWW-Authenticate: Bearer error="insufficient_user_authentication"` (RFC 9470) and can step up.',
    },
    rateLimit,
    unsafeForwardCredentials: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { enum: ['authorization', 'cookie', 'proxy-authorization', 'x-api-key'] },
      description: 'Weakens security: credential headers passed on to the function. By default the gateway removes them, so a compromised dependency cannot harvest callers\' credentials; functions get `ctx.principal` instead. Listed in docs/security/defaults.md; logged at start.',
    },
  },
} as const;

const tlsFiles = {
  type: 'object',
  additionalProperties: false,
  required: ['cert', 'key'],
  properties: {
    cert: { type: 'string', minLength: 1, description: 'PEM certificate chain file, relative to the manifest.' },
    key: { type: 'string', minLength: 1, description: 'PEM private key file, relative to the manifest.' },
  },
} as const;

const gateway = {
  type: 'object',
  description: 'The HTTPS gateway.',
  additionalProperties: false,
  default: {},
  properties: {
    listen: {
      type: 'string',
      pattern: '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$',
      default: '127.0.0.1:8443',
      description: 'Address and port to listen on, `host:port`. `--host` and `--port` override it.',
    },
    tls: {
      description: '`auto` creates a local CA and server certificate under `.palisade/tls/`; or give `{ cert, key }` files.',
      default: 'auto',
      oneOf: [{ const: 'auto' }, tlsFiles],
    },
    origin: {
      type: 'string',
      pattern: '^https?://(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$',
      description: 'The origin functions see in `request.url`, such as `https://api.example.com`. The client\'s `Host` header never chooses it. Default: the listen address.',
    },
    rateLimit: {
      description: 'A limit per client address across all routes (IPv6 per /64), checked before routing and authentication (the health endpoint is not counted): `N/s`, `N/min`, `N/hour`, or `{ rate, burst }`, such as `6000/min`. Default: none.',
      oneOf: [
        { type: 'string', pattern: RATE_PATTERN },
        {
          type: 'object',
          additionalProperties: false,
          required: ['rate'],
          properties: {
            rate: { type: 'string', pattern: RATE_PATTERN, description: 'Requests per window per address.' },
            burst: { type: 'integer', minimum: 0, maximum: 1000000, description: 'Extra requests allowed once the window is spent (default 0).' },
          },
        },
      ],
    },
    limits: {
      type: 'object',
      description: 'Protocol limits that bound slow or oversized clients.',
      additionalProperties: false,
      default: {},
      properties: {
        maxHeaderBytes: {
          type: 'integer',
          minimum: 1024,
          maximum: 65536,
          default: 16384,
          description: 'Largest request head (request line and headers), in bytes.',
        },
        headersTimeoutMs: {
          type: 'integer',
          minimum: 1000,
          maximum: 120000,
          default: 10000,
          description: 'Time a client has to send the request head (slowloris guard).',
        },
        requestTimeoutMs: {
          type: 'integer',
          minimum: 1000,
          maximum: 600000,
          default: 30000,
          description: 'Time a client has to send the whole request.',
        },
        maxJsonDepth: {
          type: 'integer',
          minimum: 1,
          maximum: 256,
          default: 32,
          description: 'Deepest nesting of arrays and objects in a JSON body the gateway parses (routes with a `schema`); checked before parsing.',
        },
        maxJsonKeys: {
          type: 'integer',
          minimum: 1,
          maximum: 1000000,
          default: 10000,
          description: 'Most object keys plus array items in a JSON body the gateway parses; checked before parsing.',
        },
      },
    },
  },
} as const;

/** A segment rule: a list of other segments (shared by every `allow*From` rule). */
const segmentList = (description: string) => ({ type: 'array', uniqueItems: true, maxItems: 64, items: { type: 'string', pattern: NAME_PATTERN }, description }) as const;

const segment = {
  type: 'object',
  description: 'A segment: an isolation boundary of its own worker processes.',
  additionalProperties: false,
  properties: {
    workers: {
      type: 'integer',
      minimum: 1,
      maximum: 64,
      default: 2,
      description: 'Number of worker processes for the segment. The first ready one serves; the others are warm standbys that take over at once while it is killed or restarted, and take the overflow of slow requests. With two or more, the segment keeps serving while one worker is killed or restarted.',
    },
    allowCallsFrom: segmentList(
      'Segment rule: the other segments whose functions may call into this segment through a service binding (`default` names the implicit segment). Any other cross-segment call is refused by a generated Cedar `forbid` (`segment:<name>#allowCallsFrom`), and `palisade validate` reports a binding that crosses without a rule. Calls inside one segment need only their binding. See docs/segmentation.md.',
    ),
    egress: egressList(
      'Hosts every function of the segment may reach with `fetch()`, in addition to each function\'s own `egress`; none by default. Same items and checks as `functions.<name>.egress`; each grant is a generated Cedar permit `segment:<name>#egress.<host>` for `principal in Segment::"<name>"`. See docs/segmentation.md.',
    ),
    allowSecretReadsFrom: segmentList(
      'Segment rule: the other segments whose functions may be granted, and read, the secrets that belong to this segment (`secrets.<name>.segment`, or inferred from the functions granted it). Any other cross-segment secret read is refused by a generated Cedar `forbid` (`segment:<name>#allowSecretReadsFrom`), and `palisade validate` reports a grant that crosses without a rule. See docs/segmentation.md.',
    ),
  },
} as const;

const audit = {
  type: 'object',
  description: 'The tamper-evident audit log at `.palisade/audit.db` (see `docs/audit.md`).',
  additionalProperties: false,
  default: {},
  properties: {
    mode: {
      type: 'string',
      enum: ['sync', 'async'],
      default: 'sync',
      description: '`sync`: a response is released only after its event is committed durably, and refused with 503 when it cannot be. `async` is weaker: the response does not wait, and a crash or full disk loses queued events (`palisade scan` reports it).',
    },
    checkpoint: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'When a signed checkpoint (tree size, head hash, Merkle root) is written.',
      properties: {
        everyEvents: { type: 'integer', minimum: 1, maximum: 1000000, default: 1000, description: 'Sign once this many events are unsigned; a verifier refuses a longer unsigned tail.' },
        everySeconds: { type: 'integer', minimum: 1, maximum: 86400, default: 60, description: 'Sign when events have been unsigned for this long.' },
      },
    },
    sinks: {
      type: 'array',
      default: [],
      maxItems: 16,
      description: 'Live copies of the log for a SIEM, delivered at least once and in order from a cursor kept in the log (receivers drop duplicates by sequence number).',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['type', 'name'],
        properties: {
          type: { type: 'string', enum: ['file', 'webhook', 'syslog'], description: '`file`: JSON lines appended to `path`; `webhook`: HTTPS POST of JSON lines to `url`; `syslog`: RFC 5424 over TCP (TLS with `tls: true`) to `address`.' },
          name: { type: 'string', pattern: NAME_PATTERN, description: 'Names the delivery cursor: keep it stable, or the sink starts again from the first event.' },
          format: { type: 'string', enum: ['ocsf', 'cef'], default: 'ocsf', description: 'OCSF 1.1 JSON or ArcSight CEF lines.' },
          path: { type: 'string', minLength: 1, description: '`file`: the file, relative to the manifest.' },
          url: { type: 'string', pattern: '^https://', description: '`webhook`: an https URL.' },
          address: { type: 'string', pattern: '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$', description: '`syslog`: `host:port`.' },
          tls: { type: 'boolean', default: false, description: '`syslog`: TLS (RFC 5425).' },
          ca: { type: 'string', minLength: 1, description: '`webhook`, `syslog` with TLS: a PEM file of CAs to trust instead of the system ones, relative to the manifest.' },
        },
      },
    },
    witness: {
      type: 'string',
      minLength: 1,
      description: 'A file (relative to the manifest) to which every checkpoint is also appended: keep it on other storage, so that truncation and rollback of the log are detectable.',
    },
  },
} as const;

const secretSpec = {
  type: 'object',
  description: 'A secret kept in the vault (its value never appears here: set it with `palisade secrets set NAME`). Declaring it is needed only to describe it, to rotate it on a schedule, or to name the segment it belongs to.',
  additionalProperties: false,
  default: {},
  properties: {
    description: { type: 'string', maxLength: 256, description: 'What the secret is, for `palisade secrets list`.' },
    segment: {
      type: 'string',
      pattern: NAME_PATTERN,
      description: 'The segment the secret belongs to. Absent: the segment of the functions granted it (a rotation function counts as granted) when they are all in one segment, `default` when none is; functions of several segments make it an error until it is declared. A function of another segment may be granted it only when `segments.<this segment>.allowSecretReadsFrom` names its segment (a generated Cedar `forbid` enforces it at every read).',
    },
    rotation: {
      type: 'object',
      additionalProperties: false,
      required: ['function', 'every'],
      description: 'Scheduled rotation: the platform asks `function` to create a new value, set it in the system it unlocks and test it, and promotes it only when the test passes (see docs/secrets.md).',
      properties: {
        function: { type: 'string', pattern: NAME_PATTERN, description: 'The rotation function (a declared function).' },
        every: { type: 'string', pattern: '^[1-9][0-9]{0,5}(m|h|d)$', description: 'How long a value stays current before it is rotated: minutes, hours or days, such as `30d`.' },
      },
    },
  },
} as const;

/** The manifest schema (JSON Schema draft-07). */
export const manifestSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://palisade.dev/schema/palisade.schema.json',
  title: 'palisade.yaml',
  description: 'The Palisade manifest: one declarative description of a deployment.',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'functions', 'routes'],
  properties: {
    name: { type: 'string', pattern: NAME_PATTERN, description: 'Project name: lowercase letters, digits and dashes.' },
    gateway,
    identity,
    audit,
    segments: {
      type: 'object',
      description: 'Segments by name. The `default` segment exists implicitly.',
      propertyNames: { pattern: NAME_PATTERN },
      additionalProperties: segment,
      default: {},
    },
    functions: {
      type: 'object',
      description: 'Functions by name.',
      propertyNames: { pattern: NAME_PATTERN },
      additionalProperties: functionSpec,
      minProperties: 1,
    },
    secrets: {
      type: 'object',
      description: 'Secrets by name: descriptions and rotation schedules. Values live only in the vault.',
      propertyNames: { pattern: SECRET_NAME_PATTERN },
      additionalProperties: secretSpec,
      default: {},
    },
    roles: {
      type: 'object',
      description: 'Roles by name, with what holding one demands. A principal is in each role its identity proof carries (token roles claim, built-in user or API key roles); `palisade validate` warns about a role in `allow.roles` that is not declared here (when this section exists). See docs/authorization.md.',
      propertyNames: { pattern: ROLE_PATTERN },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          mfa: {
            enum: ['required', 'optional'],
            default: 'optional',
            description: '`required`: a Cedar `forbid` (`role:<name>#mfa`) refuses every route call and operator action of a principal in this role whose proof had no second factor; a person who can add one gets 401 `insufficient_user_authentication` (RFC 9470), an API key or certificate 403.',
          },
          description: { type: 'string', maxLength: 500, description: 'What the role is for (documentation only).' },
        },
      },
      default: {},
    },
    policies: {
      type: 'array',
      description: 'Cedar policy files (relative to the manifest) added to the policies generated from `allow` and `mfa`. Each is validated against the Palisade schema in strict mode at load; see docs/authorization.md.',
      uniqueItems: true,
      items: { type: 'string', minLength: 1, pattern: '\\.cedar$' },
      default: [],
    },
    routes: {
      type: 'array',
      description: 'Routes, matched by method and path. Overlapping routes are an error.',
      items: route,
      minItems: 1,
    },
  },
} as const;

/** Top-level sections that later versions own; naming one gives a precise hint. */
export const reservedSections = ['detect', 'privacy'] as const;
/** Function keys that later versions own. */
export const reservedFunctionKeys = ['invoke'] as const;
