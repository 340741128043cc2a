import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import Provider from 'oidc-provider';

/** A real, certified OpenID provider on 127.0.0.1 for tests. */
export interface TestProvider {
  readonly issuer: string;
  /**
   * Signs a JWT with the provider's current signing key, as the provider would sign an ID token
   * or any other JWT: for tests of tokens that are validly signed but must not pass.
   */
  signWithProviderKey(claims: JWTPayload, header: Record<string, unknown>): Promise<string>;
  /** Gets an access token (JWT, `at+jwt`) with the client credentials grant. */
  token(scope?: string): Promise<string>;
  /** How many times the JWKS was fetched. */
  jwksFetches(): number;
  /** Restarts the provider on the same port with a new signing key listed first. */
  rotateKeys(): Promise<void>;
  close(): Promise<void>;
}

export const CLIENT_ID = 'shop-backend';
const CLIENT_SECRET = 'a-test-client-secret-that-is-long-enough';
export const AUDIENCE = 'shop-api';
/** RFC 8707 resource indicators are absolute URIs; the token audience is {@link AUDIENCE}. */
const RESOURCE = 'https://shop.example/api';

async function signingKey(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
}

/** Starts oidc-provider with client credentials and JWT access tokens for {@link AUDIENCE}. */
export async function startTestProvider(): Promise<TestProvider> {
  let keys: JWK[] = [await signingKey('key-1')];
  let server: Server | undefined;
  let port = 0;
  let jwksFetches = 0;

  const listen = async () => {
    const issuer = `http://127.0.0.1:${port}`;
    const provider = new Provider(issuer, {
      clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_post', id_token_signed_response_alg: 'ES256' }],
      jwks: { keys },
      ttl: { ClientCredentials: 300 },
      features: {
        clientCredentials: { enabled: true },
        devInteractions: { enabled: false },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => RESOURCE,
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({ scope: 'orders', audience: AUDIENCE, accessTokenFormat: 'jwt', accessTokenTTL: 300, jwt: { sign: { alg: 'ES256' } } }),
        },
      },
      extraTokenClaims: () => ({ roles: ['customer'] }),
      scopes: ['orders'],
    });
    const handler = provider.callback();
    server = createServer((req, res) => {
      if (req.url === '/jwks') jwksFetches++;
      void handler(req, res);
    });
    await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    return issuer;
  };

  await listen();
  // The provider's issuer must carry the real port: restart once now that it is known.
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  const issuer = await listen();

  return {
    issuer,
    async token(scope = 'orders') {
      // After a restart, a pooled keep-alive socket may be dead: one retry.
      const post = () => fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET, scope, resource: RESOURCE }),
      });
      const res = await post().catch(() => post());
      const body = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
      if (body.access_token === undefined) throw new Error(`token request failed: ${body.error ?? res.status} ${body.error_description ?? ''}`);
      return body.access_token;
    },
    jwksFetches: () => jwksFetches,
    async signWithProviderKey(claims, header) {
      const jwk = keys[0] as JWK;
      return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: jwk.kid, ...header } as { alg: string }).sign(await importJWK(jwk, 'ES256'));
    },
    async rotateKeys() {
      keys = [await signingKey(`key-${keys.length + 1}`), ...keys];
      await new Promise<void>((resolve) => server?.close(() => resolve()));
      server?.closeAllConnections();
      await listen();
    },
    async close() {
      server?.closeAllConnections();
      await new Promise<void>((resolve) => server?.close(() => resolve()));
    },
  };
}
