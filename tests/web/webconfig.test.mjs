// Web Config in a real browser: Debian's Chromium driven by playwright-core
// against a real `postbridge serve` (HTTPS, self-signed, any free port) and
// the real OAuth server of tests/peers. Each state of the sign-in is
// screenshotted under the build directory (screenshots/).
//
//   node webconfig.test.mjs PATH/TO/postbridge     (under with-peers.sh)
import { spawn, execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, before, after } from 'node:test';
import { promisify } from 'node:util';
import { PEERS_DIR, peersEnv } from '../peers/testlib.mjs';

const require = createRequire(path.join(PEERS_DIR, 'package.json'));
const { chromium } = require('playwright-core');
const run = promisify(execFile);

const BINARY = process.argv[2] || process.env.PB_BINARY;
const env = peersEnv();
const SHOTS = path.resolve(process.env.PB_SCREENSHOTS || 'screenshots');
fs.mkdirSync(SHOTS, { recursive: true });

let state, serve, url, password, log = '', browser, context, page;

async function pb(...args) {
  return run(BINARY, ['--state', state, ...args], { env: { ...process.env, POSTBRIDGE_STATE: state } });
}

// Starts `postbridge serve` and reads the first-start line.
function startServe() {
  return new Promise((resolve, reject) => {
    const child = spawn(BINARY, ['--state', state, 'serve', '--web', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stderr.on('data', (d) => { log += d; });
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/Web Config: (\S+) \u2014 administrator password \(shown once\): (\S+)\n/);
      if (m) resolve({ child, url: m[1], password: m[2] });
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}${log}`)));
    setTimeout(() => reject(new Error(`serve did not start: ${out}${log}`)), 30000);
  });
}

async function shot(name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function approve(code, action = 'approve') {
  return run(process.execPath, [path.join(PEERS_DIR, 'user.mjs'), action, '--issuer', env.PB_OIDC_ISSUER, '--code', code, '--login', 'alice']);
}

before(async () => {
  state = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-web-'));
  // Off the page on purpose (set once by the administrator): the scopes
  // the test SMTP server wants.
  await pb('config', 'set', 'email.oauth.scopes', 'openid email offline_access smtp.send');
  ({ child: serve, url, password } = await startServe());
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
  // The self-signed certificate made at first start.
  context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1100, height: 900 } });
  page = await context.newPage();
  page.on('dialog', (d) => { throw new Error(`a script ran: dialog "${d.message()}"`); });
});

after(async () => {
  await browser?.close();
  if (serve && serve.exitCode === null) serve.kill('SIGTERM');
  fs.rmSync(state, { recursive: true, force: true });
});

test('a second serve on the same state is refused', async () => {
  await assert.rejects(pb('serve', '--web', '127.0.0.1:0'), (e) => /already running/.test(e.stderr));
});

test('the administrator logs in', async () => {
  await page.goto(url);
  assert.match(page.url(), /\/login$/);
  await shot('01-login');
  await page.fill('#password', 'wrong password');
  await page.click('#ok');
  await page.waitForSelector('text=The password is incorrect.');
  await page.fill('#password', password);
  await page.click('#ok');
  await page.waitForSelector('h1:has-text("Network > Email Server > Basic")');
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === '__Host-pb_session');
  assert.ok(session, 'session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.secure, true);
  assert.equal(session.sameSite, 'Strict');
  await shot('02-basic');
});

test('OAuth2 with the custom service shows its fields and applies', async () => {
  assert.equal(await page.isVisible('#f-service'), false);
  await page.selectOption('#f-auth_method', 'oauth2');
  assert.equal(await page.isVisible('#f-service'), true);          // shown by the script, no reload
  assert.equal(await page.isVisible('#f-password'), false);
  await page.selectOption('#f-service', 'outlook-com');
  assert.equal(await page.inputValue('#f-smtp_host'), 'smtp-mail.outlook.com');  // the preset
  await page.selectOption('#f-service', 'custom');
  await page.fill('#f-oauth_issuer', env.PB_OIDC_ISSUER);
  await page.fill('#f-oauth_client_id', env.PB_OIDC_CLIENT_ID);
  await page.fill('#f-sender', 'alice@example.test');
  await page.fill('#f-smtp_host', env.PB_SMTP_HOST);
  await page.fill('#f-smtp_port', String(env.PB_SMTP_PORT));
  await page.click('#ok');
  await page.waitForSelector('text=The settings were applied.');
  const { stdout } = await pb('config', 'get', 'email.oauth.issuer');
  assert.equal(stdout.trim(), env.PB_OIDC_ISSUER);
});

test('Sign In shows the code; approving it turns the status to Signed in without a reload', async () => {
  await page.click('button:has-text("Sign In")');
  await page.waitForSelector('text=Any other email services signed in will be signed out automatically');
  await shot('03-signin-notice');
  await page.click('button:has-text("Sign in with")');
  const message = await page.textContent('#signin-message');
  const m = message.match(/^To sign in, use a web browser to open the page (\S+) and enter the code (\S+) to authenticate\.$/);
  assert.ok(m, message);
  const code = await page.textContent('#user-code');
  assert.equal(m[2], code);
  assert.equal(await page.getAttribute('#signin-message a', 'href'), m[1]);
  assert.ok(await page.isVisible('svg.qr'));
  assert.match(await page.textContent('#time-left'), /^\d+ min \d\d s$/);
  assert.equal(await page.textContent('#current-status'), 'Signed out');
  await shot('04-code');

  let navigations = 0;
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations += 1; });
  await approve(code);
  await page.waitForFunction(() => document.getElementById('current-status').textContent === 'Signed in', null, { timeout: 30000 });
  await page.waitForFunction(() => document.getElementById('signin-account').textContent.length > 0);
  assert.equal(navigations, 0, 'the page was not reloaded');
  assert.equal(await page.textContent('#signin-account'), 'alice@example.test');
  await shot('05-signed-in');

  // Without script, a refresh shows the same.
  await page.reload();
  assert.equal(await page.textContent('#current-status'), 'Signed in');
});

test('the status answer carries no token', async () => {
  const res = await page.request.get(`${url}api/signin-status?profile=email`);
  const body = await res.text();
  assert.match(body, /"status":"Signed in"/);
  assert.doesNotMatch(body, /token|eyJ/i);
  const html = await page.content();
  assert.doesNotMatch(html, /access_token|refresh_token|eyJ/);
});

test('a POST without the CSRF token is refused', async () => {
  const res = await page.request.post(`${url}network/email/basic`, { form: { 'smtp.host': 'evil.example.test' } });
  assert.equal(res.status(), 403);
  const { stdout } = await pb('config', 'get', 'email.smtp.host');
  assert.equal(stdout.trim(), env.PB_SMTP_HOST);
});

test('a script payload comes back escaped', async () => {
  const payload = `<script>alert('x')</script>"><img src=x onerror=alert(1)>`;
  await page.fill('#f-account', payload);
  await page.click('#ok');
  await page.waitForSelector('text=The settings were applied.');
  assert.equal(await page.inputValue('#f-account'), payload);
  assert.equal(await page.locator('img[src=x]').count(), 0);
  await shot('06-escaped');
  await page.fill('#f-account', '');
  await page.click('#ok');
});

test('sign out, then a denied sign-in shows its reason', async () => {
  await page.click('button:has-text("Sign Out")');
  await page.waitForSelector('#current-status:has-text("Signed out")');
  await page.click('button:has-text("Sign In")');
  await page.click('button:has-text("Sign in with")');
  const code = await page.textContent('#user-code');
  await approve(code, 'deny');
  await page.waitForSelector('#signin-reason:not([hidden])', { timeout: 30000 });
  assert.equal(await page.textContent('#current-status'), 'Signed out');
  await shot('07-denied');
});

test('serve stops cleanly on SIGTERM and never logged the password', async () => {
  const exited = new Promise((resolve) => serve.on('exit', (code, signal) => resolve({ code, signal })));
  serve.kill('SIGTERM');
  const { code } = await exited;
  assert.equal(code, 0);
  assert.ok(!log.includes(password), 'the administrator password is not in the log');
  // The lock went with the process: a new serve starts, and prints no new password.
  const again = spawn(BINARY, ['--state', state, 'serve', '--web', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const line = await new Promise((resolve) => again.stdout.once('data', (d) => resolve(String(d))));
  again.kill('SIGTERM');
  assert.match(line, /^Web Config: https:\/\/127\.0\.0\.1:\d+\/\n$/);
});
