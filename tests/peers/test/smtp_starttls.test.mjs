// Proves the SMTP side of the harness against the running peers: the
// server's certificate validates against the test CA only, and a message
// sent with AUTH XOAUTH2 (token from the device flow) lands in the maildir
// with the right envelope. Also the refusals tests will rely on.
// Run: with-peers.sh RUNDIR node --test test/smtp_starttls.test.mjs
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { deviceFlowTokens, peersEnv, PEERS_DIR, PYTHON, waitForMessage } from '../testlib.mjs';

const env = peersEnv();

async function exec(cmd, args, input) {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 20000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

const sClient = (port, ca, extra = []) => exec('openssl', ['s_client', '-connect', `127.0.0.1:${port}`,
  '-verify_return_error', '-CAfile', ca, '-verify_hostname', 'localhost', '-verify_ip', '127.0.0.1',
  ...extra], 'QUIT\r\n');

async function smtpSend(args) {
  const r = await exec(PYTHON, [path.join(PEERS_DIR, 'smtp_send.py'), '--port', env.PB_SMTP_PORT,
    '--ca', env.PB_TEST_CA, ...args]);
  return { code: r.code, out: JSON.parse(r.stdout || '{}'), stderr: r.stderr };
}

test('STARTTLS certificate validates against the test CA', async () => {
  const r = await sClient(env.PB_SMTP_PORT, env.PB_TEST_CA, ['-starttls', 'smtp']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Verify return code: 0 \(ok\)/);
  assert.match(r.stdout, /subject=CN ?= ?localhost/);
});

test('STARTTLS certificate fails against the untrusted CA', async () => {
  const r = await sClient(env.PB_SMTP_PORT, env.PB_UNTRUSTED_CA, ['-starttls', 'smtp']);
  assert.notEqual(r.code, 0);
  assert.match(r.stdout + r.stderr, /unable to get local issuer certificate/);
});

test('implicit TLS port validates against the test CA', async () => {
  const r = await sClient(env.PB_SMTPS_PORT, env.PB_TEST_CA);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Verify return code: 0 \(ok\)/);
});

test('XOAUTH2 with a device-flow token: delivered with the right envelope', async () => {
  const t = await deviceFlowTokens(env.PB_OIDC_ISSUER, { login: 'alice' });
  const subject = `harness ${process.pid} ${Date.now()}`;
  const r = await smtpSend(['--user', 'alice@example.test', `--token=${t.access_token}`,
    '--from', 'alice@example.test', '--to', 'bob@example.test', '--to', 'reject-nobody@example.test',
    '--subject', subject]);
  assert.equal(r.code, 0, JSON.stringify(r.out) + r.stderr);
  assert.equal(r.out.auth[0], 235);
  assert.equal(r.out.rcpt['bob@example.test'][0], 250);
  assert.equal(r.out.rcpt['reject-nobody@example.test'][0], 550);
  assert.match(r.out.rcpt['reject-nobody@example.test'][1], /^5\.1\.1 /);

  const m = await waitForMessage(env.PB_MAILDIR, subject);
  assert.equal(m.envelope.mailFrom, 'alice@example.test');
  assert.deepEqual(m.envelope.rcptTo, ['bob@example.test']);
  assert.equal(m.envelope.user, 'alice@example.test');
  assert.equal(m.envelope.secure, true);
  assert.equal(m.envelope.clientHostname, 'smtp-send.test');
  assert.ok(m.text.includes(`Message-ID: ${r.out.message_id}`));
  assert.equal(m.envelope.size, fs.statSync(m.file).size);
});

test('XOAUTH2 refusals: wrong user, bogus token, token without smtp.send', async () => {
  const t = await deviceFlowTokens(env.PB_OIDC_ISSUER, { login: 'erin' });
  const wrongUser = await smtpSend(['--user', 'alice@example.test', `--token=${t.access_token}`,
    '--from', 'a@example.test', '--to', 'b@example.test']);
  assert.equal(wrongUser.code, 1);
  assert.equal(wrongUser.out.auth[0], 535);
  assert.match(wrongUser.out.auth[1], /^5\.7\.8 /);

  const bogus = await smtpSend(['--user', 'erin@example.test', '--token', 'not-a-token',
    '--from', 'a@example.test', '--to', 'b@example.test']);
  assert.equal(bogus.out.auth[0], 535);

  const noScope = await deviceFlowTokens(env.PB_OIDC_ISSUER, { login: 'erin', scope: 'openid email' });
  const r = await smtpSend(['--user', 'erin@example.test', `--token=${noScope.access_token}`,
    '--from', 'a@example.test', '--to', 'b@example.test']);
  assert.equal(r.out.auth[0], 535);

  // The same user with the right token is fine (sub "erin" matches as well as the email).
  const ok = await smtpSend(['--user', 'erin', `--token=${t.access_token}`,
    '--from', 'erin@example.test', '--to', 'b@example.test']);
  assert.equal(ok.code, 0, JSON.stringify(ok.out));
});

test('AUTH before STARTTLS is refused with 538', async () => {
  const r = await smtpSend(['--security', 'none', '--auth', 'plain', '--user', 'device', '--password', 'device-pass',
    '--from', 'a@example.test', '--to', 'b@example.test']);
  assert.equal(r.code, 1);
  assert.equal(r.out.auth[0], 538);
});

test('PLAIN with the fixed test user after STARTTLS', async () => {
  const bad = await smtpSend(['--auth', 'plain', '--user', 'device', '--password', 'wrong',
    '--from', 'a@example.test', '--to', 'b@example.test']);
  assert.equal(bad.out.auth[0], 535);
  const good = await smtpSend(['--auth', 'plain', '--user', 'device', '--password', 'device-pass',
    '--from', 'device@example.test', '--to', 'b@example.test']);
  assert.equal(good.code, 0, JSON.stringify(good.out));
});

test('Gmail-style XOAUTH2 refusal: 334 with JSON, then 535', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-gmail-'));
  const child = spawn(process.execPath, [path.join(PEERS_DIR, 'smtp.mjs'), '--gmail-style',
    '--issuer', env.PB_OIDC_ISSUER, '--maildir', dir,
    '--cert', path.join(env.PB_CERT_DIR, 'server.pem'), '--key', path.join(env.PB_CERT_DIR, 'server.key')],
  { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const line = await new Promise((resolve, reject) => {
      child.stdout.once('data', (d) => resolve(d.toString()));
      child.once('exit', (c) => reject(new Error(`smtp.mjs exited ${c}`)));
    });
    const { port } = JSON.parse(line);
    const r = await exec(PYTHON, [path.join(PEERS_DIR, 'smtp_send.py'), '--port', String(port),
      '--ca', env.PB_TEST_CA, '--user', 'x@example.test', '--token', 'expired',
      '--from', 'x@example.test', '--to', 'y@example.test']);
    const out = JSON.parse(r.stdout);
    assert.equal(out.auth_challenge.status, '400');
    assert.equal(out.auth_challenge.schemes, 'Bearer');
    assert.equal(out.auth[0], 535);
  } finally {
    child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('smtp_send.py refuses a server certificate from the untrusted CA', async () => {
  const r = await exec(PYTHON, [path.join(PEERS_DIR, 'smtp_send.py'), '--port', env.PB_SMTP_PORT,
    '--ca', env.PB_UNTRUSTED_CA, '--auth', 'none', '--from', 'a@example.test', '--to', 'b@example.test']);
  assert.equal(r.code, 1);
  assert.match(JSON.parse(r.stdout).exception, /CERTIFICATE_VERIFY_FAILED/);
});
