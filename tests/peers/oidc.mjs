#!/usr/bin/env node
// A real OAuth 2.0 / OpenID Connect authorization server (npm oidc-provider)
// for postbridge's integration tests. Loopback only, all state in memory
// (a restart invalidates every token).
//
//   node oidc.mjs [--port N]     prints {"issuer":..,"port":..} once listening
//
// Env: PB_OIDC_INTERVAL (device poll interval, s, default 1),
//      PB_OIDC_ACCESS_TTL (s, 3600), PB_OIDC_DEVICE_TTL (s, 600),
//      PB_OIDC_REFRESH_TTL (s, 14 days).
import http from 'node:http';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

// stdout carries only the JSON line that start.sh waits for; oidc-provider's
// notices (console.info) go to the log with everything else.
console.log = console.info = console.error;

const { values: args } = parseArgs({ options: { port: { type: 'string', default: '0' } } });
const num = (name, dflt) => Number(process.env[name] || dflt);
const ACCESS_TTL = num('PB_OIDC_ACCESS_TTL', 3600);
const DEVICE_TTL = num('PB_OIDC_DEVICE_TTL', 600);
const REFRESH_TTL = num('PB_OIDC_REFRESH_TTL', 14 * 24 * 3600);
const INTERVAL = num('PB_OIDC_INTERVAL', 1);

const emailOf = (login) => (login.includes('@') ? login : `${login}@example.test`);

// The issuer must contain the port, so bind first and build the provider after.
const server = http.createServer();
server.listen(Number(args.port), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'postbridge-device',
        client_name: 'postbridge test device',
        token_endpoint_auth_method: 'none', // public: PKCE required, refresh tokens rotate
        application_type: 'native', // loopback redirect URIs match on any port (RFC 8252 7.3)
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token', 'authorization_code'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback', 'http://localhost/callback'],
      },
      {
        client_id: 'postbridge-app',
        client_secret: 'app-secret',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: 'smtp.send mail.send mail.readwrite',
      },
      { // the SMTP servers' identity for introspection; it gets no tokens itself
        client_id: 'smtp-server',
        client_secret: 'introspect-secret',
        grant_types: [],
        response_types: [],
        redirect_uris: [],
      },
    ],
    // smtp.send stands for the SMTP resource; mail.send, mail.readwrite and
    // mail.send.shared for Graph's (graph.mjs refuses a token carrying smtp.send).
    scopes: ['openid', 'email', 'profile', 'offline_access', 'smtp.send', 'mail.send', 'mail.readwrite',
      'mail.send.shared'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'name'],
    },
    // Entra ID and Google put the user's claims in the id_token of a code or
    // device grant; OIDC's strict default would leave only `sub` there.
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      clientCredentials: { enabled: true },
    },
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { sub, email: emailOf(sub), email_verified: true, preferred_username: sub, name: sub };
        },
      };
    },
    // Introspection answers carry token.extra: SMTP servers (smtp.mjs, and
    // Dovecot's oauth2 passdb whose username_attribute defaults to `email`)
    // match the XOAUTH2 user against it.
    async extraTokenClaims(ctx, token) {
      return token.accountId ? { email: emailOf(token.accountId), username: token.accountId } : undefined;
    },
    async issueRefreshToken(ctx, client, code) {
      return client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access');
    },
    ttl: {
      AccessToken: ACCESS_TTL,
      ClientCredentials: ACCESS_TTL,
      DeviceCode: DEVICE_TTL,
      RefreshToken: REFRESH_TTL,
      IdToken: 3600,
      AuthorizationCode: 60,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
    },
    cookies: { keys: ['postbridge-test-peers-only'] },
  });

  provider.use(async (ctx, next) => {
    // Entra ID issues a refresh token for offline_access at the first
    // sign-in; OIDC Core (and so oidc-provider) drops offline_access unless
    // prompt=consent. Act like the real services our code talks to.
    if (ctx.path === '/auth' && /\boffline_access\b/.test(ctx.query.scope || '') && !ctx.query.prompt) {
      ctx.query = { ...ctx.query, prompt: 'consent' };
    }
    await next();
    // Without `interval` RFC 8628 says poll every 5 s: too slow for tests.
    if (ctx.path === '/device/auth' && ctx.status === 200 && ctx.body?.device_code) {
      ctx.body = { ...ctx.body, interval: INTERVAL };
    }
    // The built-in pages @import a web font: a browser would leave loopback.
    if (typeof ctx.body === 'string' && ctx.response.is('html')) {
      ctx.body = ctx.body.replace(/@import url\(https?:[^)]*\);?/g, '');
    }
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', ctx.path, err));
  provider.on('grant.revoked', (ctx, grantId) => console.error('grant revoked', grantId));

  // What an administrator's "revoke sessions" does at a real provider: every
  // grant of an account is revoked, so its refresh tokens stop working. Tests
  // use it to make a signed-in postbridge meet invalid_grant (code 370):
  //   POST /_test/revoke?account=LOGIN  ->  {"revoked": N}
  const grantsOf = new Map();
  const remember = (token) => {
    if (!token.accountId || !token.grantId) return;
    if (!grantsOf.has(token.accountId)) grantsOf.set(token.accountId, new Set());
    grantsOf.get(token.accountId).add(token.grantId);
  };
  provider.on('access_token.saved', remember);
  provider.on('refresh_token.saved', remember);
  const callback = provider.callback();
  server.on('request', async (req, res) => {
    const url = new URL(req.url, issuer);
    if (url.pathname !== '/_test/revoke') return callback(req, res);
    const account = url.searchParams.get('account') || '';
    const grants = [...(grantsOf.get(account) || [])];
    grantsOf.delete(account);
    for (const id of grants) {
      await Promise.all([provider.AccessToken, provider.RefreshToken, provider.DeviceCode]
        .map((model) => model.revokeByGrantId(id)));
      await provider.Grant.adapter.destroy(id);
    }
    res.writeHead(req.method === 'POST' ? 200 : 405, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ revoked: grants.length }));
  });
  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
