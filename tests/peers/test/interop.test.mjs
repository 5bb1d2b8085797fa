// Proves the interop set (interop.sh start): msmtp, a reference client,
// sends through Dovecot submission with XOAUTH2 and OAUTHBEARER using tokens
// from the device flow; Dovecot enforces STARTTLS, refuses bad tokens and
// over-long AUTH lines; tinyproxy carries requests to the issuer and logs them.
// Run: with-peers.sh RUNDIR node --test test/interop.test.mjs
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { deviceFlowTokens, discover, peersEnv, PEERS_DIR, postForm, PYTHON, waitForMessage } from '../testlib.mjs';

const env = peersEnv();
for (const k of ['PB_DOVECOT_PORT', 'PB_SINK_DIR', 'PB_PROXY_URL', 'PB_PROXY_LOG']) {
  if (!env[k]) throw new Error(`${k} missing from peers.env: is the interop fixture running?`);
}
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-interop-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));

function exec(cmd, args, input) {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 30000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

// msmtp with a token from the device flow (passwordeval runs token.mjs).
async function msmtp(auth, { login = 'alice', ca = env.PB_TEST_CA, subject }) {
  const rc = path.join(work, `msmtprc-${auth}-${Date.now()}`);
  fs.writeFileSync(rc, [
    'account dovecot',
    `host ${env.PB_DOVECOT_HOST}`,
    `port ${env.PB_DOVECOT_PORT}`,
    'tls on',
    'tls_starttls on',
    `tls_trust_file ${ca}`,
    `auth ${auth}`,
    `user ${login}@example.test`,
    `passwordeval "${process.execPath}" "${path.join(PEERS_DIR, 'token.mjs')}" --issuer ${env.PB_OIDC_ISSUER} --login ${login}`,
    `from ${login}@example.test`,
    'domain msmtp.test',
    '',
  ].join('\n'), { mode: 0o600 });
  const msg = `From: <${login}@example.test>\r\nTo: <bob@example.test>\r\nSubject: ${subject}\r\n\r\nvia msmtp ${auth}\r\n`;
  return exec('msmtp', ['-C', rc, '-a', 'dovecot', '--debug', 'bob@example.test'], msg);
}

const send = (args) => exec(PYTHON, [path.join(PEERS_DIR, 'smtp_send.py'), '--host', env.PB_DOVECOT_HOST,
  '--port', env.PB_DOVECOT_PORT, '--ca', env.PB_TEST_CA, '--from', 'alice@example.test', '--to', 'bob@example.test',
  ...args]).then((r) => ({ ...r, out: JSON.parse(r.stdout || '{}') }));

for (const auth of ['xoauth2', 'oauthbearer']) {
  test(`msmtp ${auth} through Dovecot reaches the sink`, async () => {
    const subject = `dovecot ${auth} ${process.pid} ${Date.now()}`;
    const r = await msmtp(auth, { subject });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, new RegExp(`AUTH ${auth.toUpperCase()}`));
    const m = await waitForMessage(env.PB_SINK_DIR, subject);
    assert.equal(m.envelope.mailFrom, 'alice@example.test');
    assert.deepEqual(m.envelope.rcptTo, ['bob@example.test']);
    const log = fs.readFileSync(path.join(env.PB_RUNDIR, 'dovecot.log'), 'utf8');
    assert.match(log, new RegExp(`Login: user=<alice@example.test>, method=${auth.toUpperCase()}`));
  });
}

test('msmtp refuses Dovecot with the untrusted CA', async () => {
  const r = await msmtp('xoauth2', { ca: env.PB_UNTRUSTED_CA, subject: 'never' });
  assert.notEqual(r.code, 0);
  assert.match(r.stdout + r.stderr, /certificate|TLS/i);
});

test('Dovecot: no AUTH before STARTTLS (530)', async () => {
  const r = await send(['--security', 'none', '--user', 'alice@example.test', '--token', 'x']);
  assert.doesNotMatch(r.out.ehlo[1], /AUTH/);
  assert.equal(r.out.auth[0], 530);
});

test('Dovecot: revoked token, wrong user and missing scope are refused', async () => {
  const t = await deviceFlowTokens(env.PB_OIDC_ISSUER, { login: 'alice' });
  const wrong = await send(['--user', 'bob@example.test', `--token=${t.access_token}`]);
  assert.equal(wrong.out.auth[0], 535);
  assert.equal(wrong.out.auth_challenge.status, '401');
  assert.equal(wrong.out.auth_challenge['openid-configuration'], `${env.PB_OIDC_ISSUER}/.well-known/openid-configuration`);

  const ok = await send(['--user', 'alice@example.test', `--token=${t.access_token}`]);
  assert.equal(ok.code, 0, ok.stdout);
  const meta = await discover(env.PB_OIDC_ISSUER);
  await postForm(meta.revocation_endpoint, { token: t.refresh_token, client_id: env.PB_OIDC_CLIENT_ID });
  const revoked = await send(['--user', 'alice@example.test', `--token=${t.access_token}`]);
  assert.equal(revoked.out.auth[0], 535);

  const noScope = await deviceFlowTokens(env.PB_OIDC_ISSUER, { login: 'alice', scope: 'openid email' });
  const r = await send(['--user', 'alice@example.test', `--token=${noScope.access_token}`]);
  assert.equal(r.out.auth[0], 535);
});

test('Dovecot: an AUTH line over about 1 KB is refused', async () => {
  const r = await send(['--user', 'alice@example.test', '--token', 'a'.repeat(3000)]);
  assert.equal(r.out.auth[0], 500);
  assert.match(r.out.auth[1], /Line too long/);
});

test('tinyproxy carries a request to the issuer and logs it', async () => {
  const url = `${env.PB_OIDC_ISSUER}/.well-known/openid-configuration`;
  const r = await exec('curl', ['-sS', '--fail', '--noproxy', '', '-x', env.PB_PROXY_URL, url]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).issuer, env.PB_OIDC_ISSUER);
  const log = fs.readFileSync(env.PB_PROXY_LOG, 'utf8');
  assert.ok(log.includes(`Request (file descriptor`) && log.includes(`GET ${url} HTTP/1.1`), log.slice(-2000));
});
