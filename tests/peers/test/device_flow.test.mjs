// Proves the OAuth side of the harness against the running peers: device
// flow (approve and deny), refresh-token rotation and reuse detection,
// revocation, authorization code + PKCE, client credentials.
// Run: with-peers.sh RUNDIR node --test test/device_flow.test.mjs
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import {
  deviceAuthorize, deviceFlowTokens, discover, introspect, jwtPayload, peersEnv,
  pollDeviceToken, postForm, token, user, DEVICE_GRANT,
} from '../testlib.mjs';

const env = peersEnv();
const issuer = env.PB_OIDC_ISSUER;
const clientId = env.PB_OIDC_CLIENT_ID;

test('discovery lists the endpoints postbridge uses', async () => {
  const meta = await discover(issuer);
  assert.equal(meta.issuer, issuer);
  for (const e of ['device_authorization_endpoint', 'token_endpoint', 'introspection_endpoint',
    'revocation_endpoint', 'authorization_endpoint']) {
    assert.match(meta[e], /^http:\/\/127\.0\.0\.1:\d+\//, e);
  }
  assert.ok(meta.grant_types_supported.includes(DEVICE_GRANT));
  assert.ok(meta.scopes_supported.includes('smtp.send'));
});

test('device flow: approve, tokens, rotation, reuse revokes the grant', async () => {
  const da = await deviceAuthorize(issuer);
  assert.match(da.user_code, /^[A-Z]{4}-[A-Z]{4}$/);
  assert.equal(da.interval, Number(process.env.PB_OIDC_INTERVAL || 1));
  assert.equal(da.verification_uri, `${issuer}/device`);

  const early = await token(issuer, { grant_type: DEVICE_GRANT, device_code: da.device_code, client_id: clientId });
  assert.equal(early.status, 400);
  assert.equal(early.body.error, 'authorization_pending');

  const u = await user('approve', '--issuer', issuer, '--code', da.user_code, '--login', 'alice');
  assert.equal(u.code, 0, u.stderr);
  assert.match(u.stdout, /approved/);

  const r = await pollDeviceToken(issuer, da);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const t1 = r.body;
  assert.equal(t1.token_type, 'Bearer');
  assert.ok(t1.access_token && t1.refresh_token && t1.id_token, JSON.stringify(t1));
  assert.ok(t1.scope.split(' ').includes('smtp.send'));
  const id = jwtPayload(t1.id_token);
  assert.equal(id.iss, issuer);
  assert.equal(id.aud, clientId);
  assert.equal(id.sub, 'alice');
  assert.equal(id.email, 'alice@example.test');

  const info = await introspect(issuer, t1.access_token);
  assert.equal(info.active, true);
  assert.equal(info.sub, 'alice');
  assert.equal(info.email, 'alice@example.test');

  const r2 = await token(issuer, { grant_type: 'refresh_token', refresh_token: t1.refresh_token, client_id: clientId });
  assert.equal(r2.status, 200, JSON.stringify(r2.body));
  const t2 = r2.body;
  assert.ok(t2.refresh_token, 'refresh returns a new refresh token');
  assert.notEqual(t2.refresh_token, t1.refresh_token, 'refresh token rotated');
  assert.notEqual(t2.access_token, t1.access_token);
  assert.equal((await introspect(issuer, t2.access_token)).active, true);

  // Replaying the rotated-out token is taken as theft: the whole grant dies.
  const replay = await token(issuer, { grant_type: 'refresh_token', refresh_token: t1.refresh_token, client_id: clientId });
  assert.equal(replay.status, 400);
  assert.equal(replay.body.error, 'invalid_grant');
  const after = await token(issuer, { grant_type: 'refresh_token', refresh_token: t2.refresh_token, client_id: clientId });
  assert.equal(after.body.error, 'invalid_grant', 'the newest refresh token is revoked too');
  assert.equal((await introspect(issuer, t2.access_token)).active, false, 'and its access token');
});

test('device flow: polling again with a used device code revokes its tokens', async () => {
  const da = await deviceAuthorize(issuer);
  assert.equal((await user('approve', '--issuer', issuer, '--code', da.user_code)).code, 0);
  const t = (await pollDeviceToken(issuer, da)).body;
  assert.equal((await introspect(issuer, t.access_token)).active, true);
  // Like a replayed authorization code (RFC 6749 4.1.2): a client must stop
  // polling once it has its tokens.
  const again = await token(issuer, { grant_type: DEVICE_GRANT, device_code: da.device_code, client_id: clientId });
  assert.equal(again.body.error, 'invalid_grant');
  assert.equal((await introspect(issuer, t.access_token)).active, false);
});

test('device flow: a denied code gives access_denied', async () => {
  const da = await deviceAuthorize(issuer);
  const u = await user('deny', '--issuer', issuer, '--code', da.user_code);
  assert.equal(u.code, 0, u.stderr);
  const r = await pollDeviceToken(issuer, da);
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'access_denied');
});

test('user.mjs fails loudly on a wrong user code', async () => {
  const u = await user('approve', '--issuer', issuer, '--code', 'BCDF-GHJK');
  assert.notEqual(u.code, 0);
  assert.match(u.stderr, /incorrect/);
});

test('without offline_access there is no refresh token', async () => {
  const t = await deviceFlowTokens(issuer, { scope: 'openid email smtp.send' });
  assert.ok(t.access_token);
  assert.equal(t.refresh_token, undefined);
});

test('revocation endpoint: a revoked refresh token ends the sign-in', async () => {
  const meta = await discover(issuer);
  const t = await deviceFlowTokens(issuer, { login: 'carol@corp.test' });
  assert.equal((await introspect(issuer, t.access_token)).email, 'carol@corp.test');
  const rv = await postForm(meta.revocation_endpoint, {
    token: t.refresh_token, token_type_hint: 'refresh_token', client_id: clientId,
  });
  assert.equal(rv.status, 200);
  const r = await token(issuer, { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: clientId });
  assert.equal(r.body.error, 'invalid_grant');
  assert.equal((await introspect(issuer, t.access_token)).active, false);
});

test('authorization code with PKCE on a loopback redirect with any port', async () => {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  const redirect = 'http://127.0.0.1:49152/callback';
  const meta = await discover(issuer);
  const url = new URL(meta.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: redirect,
    scope: 'openid email offline_access smtp.send',
    state: 'st-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  const u = await user('authorize', '--url', url.href, '--login', 'dave');
  assert.equal(u.code, 0, u.stderr);
  const back = new URL(u.stdout.trim());
  assert.equal(`${back.origin}${back.pathname}`, redirect);
  assert.equal(back.searchParams.get('state'), 'st-1');
  const code = back.searchParams.get('code');
  assert.ok(code);

  const bad = await token(issuer, {
    grant_type: 'authorization_code', code, redirect_uri: redirect, client_id: clientId, code_verifier: 'x'.repeat(43),
  });
  assert.equal(bad.body.error, 'invalid_grant', 'a wrong verifier is refused');
  // The failed attempt consumed the code: that is the server's right (RFC 6749 4.1.2).
  const u2 = await user('authorize', '--url', url.href, '--login', 'dave');
  const code2 = new URL(u2.stdout.trim()).searchParams.get('code');
  const good = await token(issuer, {
    grant_type: 'authorization_code', code: code2, redirect_uri: redirect, client_id: clientId, code_verifier: verifier,
  });
  assert.equal(good.status, 200, JSON.stringify(good.body));
  assert.ok(good.body.refresh_token, 'offline_access gives a refresh token without prompt=consent');
  assert.equal(jwtPayload(good.body.id_token).email, 'dave@example.test');

  const denied = await user('authorize', '--deny', '--url', url.href);
  assert.equal(new URL(denied.stdout.trim()).searchParams.get('error'), 'access_denied');
});

test('client credentials for the app client', async () => {
  const r = await token(issuer, { grant_type: 'client_credentials', scope: 'smtp.send' },
    [env.PB_APP_CLIENT_ID, env.PB_APP_CLIENT_SECRET]);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const info = await introspect(issuer, r.body.access_token);
  assert.equal(info.active, true);
  assert.equal(info.client_id, 'postbridge-app');
  assert.equal(info.scope, 'smtp.send');
  const wrong = await token(issuer, { grant_type: 'client_credentials' }, [env.PB_APP_CLIENT_ID, 'wrong']);
  assert.equal(wrong.body.error, 'invalid_client');
});
