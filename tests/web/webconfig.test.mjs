// Web Config in a real browser: Debian's Chromium driven by playwright-core
// against a real `postbridge serve` (HTTPS, self-signed, any free port) and
// the real OAuth and SMTP servers of tests/peers. Each page and state is
// screenshotted under the build directory (screenshots/), the status sheet
// printed to PDF there too.
//
// The tests run in order on one serve: a job sent before the sign-in is
// held (360), the connection test fails with 612 until the test CA is
// imported on the CA Certificate page, the sign-in releases the held job,
// which then reaches the SMTP server's maildir.
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
import { PEERS_DIR, peersEnv, waitForMessage, maildirMessages } from '../peers/testlib.mjs';

const require = createRequire(path.join(PEERS_DIR, 'package.json'));
const { chromium, request: playwrightRequest } = require('playwright-core');
const run = promisify(execFile);

const BINARY = process.argv[2] || process.env.PB_BINARY;
const env = peersEnv();
const SHOTS = path.resolve(process.env.PB_SCREENSHOTS || 'screenshots');
fs.mkdirSync(SHOTS, { recursive: true });

let state, serve, url, password, log = '', browser, context, page;

async function pb(...args) {
  return run(BINARY, ['--state', state, ...args], { env: { ...process.env, POSTBRIDGE_STATE: state } });
}

// Starts `postbridge serve`, reads the line that says it listens and the
// first-start password's file.
function startServe() {
  return new Promise((resolve, reject) => {
    // Alerts looked at every pass of housekeeping (2 s) rather than every minute.
    const child = spawn(BINARY, ['--state', state, 'serve', '--web', '127.0.0.1:0'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POSTBRIDGE_ALERT_INTERVAL: '1' } });
    let out = '';
    child.stderr.on('data', (d) => { log += d; });
    child.stdout.on('data', (d) => {
      out += d;
      // The first-start password is in a 0600 file of the state, not in the output.
      const m = out.match(/Web Config: (\S+)\n/);
      if (m) resolve({ child, url: m[1], password: fs.readFileSync(path.join(state, 'admin-password'), 'utf8').trim() });
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}${log}`)));
    setTimeout(() => reject(new Error(`serve did not start: ${out}${log}`)), 30000);
  });
}

// Resolves once serve's log holds `text` (20 s at most): told by its output,
// not polled.
function serveLogged(text, timeoutMs = 20000) {
  return new Promise((resolve, reject) => {
    if (log.includes(text)) { resolve(); return; }
    const timer = setTimeout(() => {
      serve.stderr.off('data', check);
      reject(new Error(`serve did not log "${text}": ${log}`));
    }, timeoutMs);
    function check() {
      if (!log.includes(text)) return;
      clearTimeout(timer);
      serve.stderr.off('data', check);
      resolve();
    }
    serve.stderr.on('data', check);
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
  assert.equal(await page.inputValue('#f-oauth_tenant'), 'consumers');
  await page.selectOption('#f-service', 'custom');
  // Nothing of the service tried first is left: its scopes give way to the saved ones.
  assert.equal(await page.inputValue('#f-oauth_scopes'), 'openid email offline_access smtp.send');
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

const HELD_SUBJECT = `held until sign-in ${process.pid}`;
let heldJob, apiToken;

// The Job Status row of a job: { state, code, status, remedy }.
async function jobRow(id) {
  const row = page.locator(`#jobs tr[data-job="${id}"]`);
  return {
    state: await row.getAttribute('data-state'),
    code: (await row.locator('.code').textContent()).trim(),
    status: (await row.locator('.status').textContent()).trim(),
    remedy: (await row.locator('.remedy').textContent()).trim(),
  };
}

async function runConnectionTest() {
  await page.goto(`${url}network/email/connection-test`);
  await page.click('#run-test');
  await page.waitForSelector('#test-result');
}

test('a message sent before the sign-in is held with 360 and the manual\'s words', async () => {
  const { stdout, stderr } = await pb('--json', 'send', '--to', 'bob@example.test', '--subject', HELD_SUBJECT, '--body', 'Held, then sent.');
  assert.match(stderr, /To use this function, you must sign in to the email service\. Contact the administrator\./);
  heldJob = JSON.parse(stdout.trim().split('\n').pop()).job;
  assert.ok(Number.isInteger(heldJob), stdout);
  await page.goto(`${url}device-management/jobs`);
  assert.deepEqual(await jobRow(heldJob), {
    state: 'held',
    code: '360',
    status: 'No connection with the cloud service or email service.',
    remedy: 'Connect to the cloud service or email service.',
  });
  await shot('10-job-held-360');
  await page.click(`#jobs tr[data-job="${heldJob}"] a`);
  await page.waitForSelector('#job');
  assert.equal(await page.textContent('td[data-field="Code"]'), '360');
  assert.match(await page.textContent('#recipients'), /bob@example\.test/);
  await shot('11-job-detail-held');
});

test('the connection test fails with 612 while the server\'s CA is not trusted', async () => {
  await runConnectionTest();
  assert.equal(await page.textContent('#test-code'), '612');
  assert.match(await page.textContent('#test-steps tr[data-step="connect"]'), /OK/);
  assert.match(await page.textContent('#test-steps tr[data-step="tls"]'), /Failed\s*612/);
  await shot('12-connection-test-612');
});

test('CA Certificate imports and lists certificates; only the right CA makes the test pass TLS', async () => {
  await page.goto(`${url}network-security/ca-certificate`);
  assert.ok(await page.isVisible('#no-ca'));
  await page.setInputFiles('#ca-file', env.PB_UNTRUSTED_CA);
  await page.click('#import');
  await page.waitForSelector('text=Imported: ');
  assert.match(await page.textContent('#ca-list'), /postbridge untrusted test CA/);
  await runConnectionTest();
  assert.equal(await page.textContent('#test-code'), '612', 'a CA that did not sign the server changes nothing');

  await page.goto(`${url}network-security/ca-certificate`);
  await page.setInputFiles('#ca-file', env.PB_TEST_CA);
  await page.click('#import');
  await page.waitForSelector('text=Imported: ');
  const list = await page.textContent('#ca-list');
  assert.match(list, /postbridge test CA/);
  assert.match(list, /postbridge untrusted test CA/);
  assert.equal(await page.locator('#ca-list tbody tr').count(), 2);
  await shot('13-ca-certificates');
  const { stdout } = await pb('--json', 'ca', 'list');
  assert.equal(stdout.trim().split('\n').length, 2);

  // Not signed in yet: TLS passes now, authentication cannot.
  await runConnectionTest();
  assert.match(await page.textContent('#test-steps tr[data-step="tls"]'), /OK/);
  assert.notEqual(await page.textContent('#test-code'), '612');

  await page.goto(`${url}network-security/root-certificate-update`);
  await page.click('#update');
  await page.waitForSelector('text=/Read again: \\d+ system root certificates/');
  await shot('14-root-certificate-update');
  await page.goto(`${url}network/email/basic`);
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

test('the held job goes out by itself after the sign-in and reaches the SMTP server', async () => {
  const deadline = Date.now() + 20000;
  await page.goto(`${url}device-management/jobs`);
  for (;;) {
    const row = await jobRow(heldJob);
    if (row.state === 'sent') break;
    assert.ok(Date.now() < deadline, `job ${heldJob} is still ${row.state} (${row.code} ${row.status})`);
    await page.waitForTimeout(500);
    await page.reload();
  }
  await shot('15-job-sent');
  const m = await waitForMessage(env.PB_MAILDIR, HELD_SUBJECT);
  assert.ok(m, 'the message is in the maildir');
  await page.goto(`${url}device-management/jobs/${heldJob}`);
  assert.match(await page.textContent('#recipients'), /bob@example\.test\s*accepted/);
});

test('postbridge send, once signed in, delivers to the maildir', async () => {
  const subject = `sent with postbridge send ${process.pid}`;
  const { stdout } = await pb('--json', 'send', '--wait', '--to', 'carol@example.test', '--subject', subject, '--body', 'Hello.');
  assert.equal(JSON.parse(stdout.trim().split('\n').pop()).state, 'sent', stdout);
  await waitForMessage(env.PB_MAILDIR, subject);
});

test('a sign-in about to lapse: the Basic page warns next to Current Status, and one alert mail goes out', async () => {
  const to = `it-${process.pid}@example.test`;
  await pb('config', 'set', 'notify.email', to);
  // Shorter than the lapse warning's 14 days: the sign-in made above lapses
  // within the window, as one whose keep-alive failed for weeks would.
  await pb('config', 'set', 'email.oauth.inactivity_limit', '10d');
  await page.goto(`${url}network/email/basic`);
  const warning = page.locator('#status-warning');
  assert.ok(await warning.isVisible(), 'the warning is shown');
  assert.match(await warning.textContent(), /lapses on \d{4}-\d\d-\d\d/);
  assert.equal(await page.textContent('#current-status'), 'Signed in');
  await shot('15b-lapse-warning');
  const alertMails = () => maildirMessages(env.PB_MAILDIR)
    .map((m) => fs.readFileSync(m.file, 'utf8'))
    .filter((t) => t.includes(`To: ${to}`) && t.includes('the sign-in of email lapses on'));
  const m = await waitForMessage(env.PB_MAILDIR, `To: ${to}`, 20000);
  assert.match(m.text, /Subject: postbridge: the sign-in of email lapses on/);
  // The next pass of serve (every 2 s here) finds it still holding and, having
  // mailed it today, sends nothing: it says so in its log.
  await serveLogged('alert: signin-lapse:email still holds');
  assert.equal(alertMails().length, 1);
  // Back to Microsoft's 90 days: the alert clears, with one note.
  await pb('config', 'set', 'email.oauth.inactivity_limit', '90d');
  await waitForMessage(env.PB_MAILDIR, 'cleared: signin-lapse:email', 20000);
  await page.goto(`${url}network/email/basic`);
  assert.equal(await page.locator('#status-warning').count(), 0);
  await pb('config', 'set', 'notify.email', '');
});

test('a refused recipient fails its job with 632; the detail shows the redacted transcript; Retry queues it again', async () => {
  const failed = await pb('--json', 'send', '--wait', '--to', 'reject-me@example.test', '--subject', `refused ${process.pid}`, '--body', 'x')
    .then(() => assert.fail('the job should fail'), (e) => e);
  assert.equal(failed.code, 1);
  const job = JSON.parse(failed.stdout.trim().split('\n').pop());
  assert.equal(job.state, 'failed');
  assert.equal(job.code, 632);
  await page.goto(`${url}device-management/jobs`);
  assert.equal((await jobRow(job.job)).code, '632');
  await page.click(`#jobs tr[data-job="${job.job}"] a`);
  await page.waitForSelector('#job');
  assert.match(await page.textContent('#recipients'), /reject-me@example\.test\s*rejected\s*632/);
  const transcript = await page.textContent('#transcript');
  assert.match(transcript, /RCPT TO/);
  assert.match(transcript, /C: AUTH XOAUTH2 <redacted>/);
  assert.doesNotMatch(transcript, /dXNlcj0/, 'no XOAUTH2 blob (base64 of "user=") in the transcript');
  await shot('18-job-failed-632');
  await page.click('#retry');
  await page.waitForSelector(`text=Job ${job.job} was queued again.`);
  const deadline = Date.now() + 20000;
  for (;;) {
    await page.goto(`${url}device-management/jobs/${job.job}`);
    const state = await page.textContent('td[data-field="State"]');
    if (state === 'Failed') break;
    assert.ok(Date.now() < deadline, `job ${job.job} is ${state} after Retry`);
    await page.waitForTimeout(500);
  }
  assert.equal(await page.textContent('td[data-field="Attempts"]'), '2');
});

test('the connection test against the real SMTP server succeeds', async () => {
  await runConnectionTest();
  assert.match(await page.textContent('#test-result'), /The connection test succeeded\. No mail was sent\./);
  for (const step of ['connect', 'tls', 'ehlo', 'auth'])
    assert.match(await page.textContent(`#test-steps tr[data-step="${step}"]`), /OK/, step);
  await shot('16-connection-test-ok');
});

test('Send a test email from the Basic page', async () => {
  const before = maildirMessages(env.PB_MAILDIR).length;
  await page.goto(`${url}network/email/basic`);
  await page.fill('#test-to', 'dave@example.test');
  await page.click('#send-test');
  await page.waitForSelector('text=The test email was accepted as job');
  await shot('17-test-email');
  await waitForMessage(env.PB_MAILDIR, 'postbridge test email');
  assert.ok(maildirMessages(env.PB_MAILDIR).length > before);
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

test('the fax profile signs in on its own', async () => {
  await pb('config', 'set', 'fax.oauth.scopes', 'openid email offline_access smtp.send');
  await page.goto(`${url}fax/email-server`);
  assert.match(await page.textContent('h1'), /Fax > Fax Server > Email Server Settings/);
  await page.selectOption('#f-auth_method', 'oauth2');
  await page.selectOption('#f-service', 'custom');
  await page.fill('#f-oauth_issuer', env.PB_OIDC_ISSUER);
  await page.fill('#f-oauth_client_id', env.PB_OIDC_CLIENT_ID);
  await page.fill('#f-sender', 'fax@example.test');
  await page.fill('#f-smtp_host', env.PB_SMTP_HOST);
  await page.fill('#f-smtp_port', String(env.PB_SMTP_PORT));
  await page.click('#ok');
  await page.waitForSelector('text=The settings were applied.');
  assert.ok(await page.isVisible('nav a:has-text("Fax")'), 'the Fax tab shows once the profile is set');
  await page.click('button:has-text("Sign In")');
  await page.click('button:has-text("Sign in with")');
  const code = await page.textContent('#user-code');
  await run(process.execPath, [path.join(PEERS_DIR, 'user.mjs'), 'approve', '--issuer', env.PB_OIDC_ISSUER, '--code', code, '--login', 'faxer']);
  await page.waitForFunction(() => document.getElementById('current-status').textContent === 'Signed in', null, { timeout: 30000 });
  assert.equal(await page.textContent('#signin-account'), 'faxer@example.test');
  await shot('20-fax-signed-in');
  // Its own sign-in: the email profile keeps alice.
  await page.goto(`${url}network/email/basic`);
  assert.equal(await page.textContent('#signin-account'), 'alice@example.test');
  const { stdout } = await pb('--json', 'status');
  const profiles = Object.fromEntries(JSON.parse(stdout).profiles.map((p) => [p.name, p]));
  assert.equal(profiles.fax.account, 'faxer@example.test');
  assert.equal(profiles.email.account, 'alice@example.test');
});

const USER_DONE = 'Authentication was successful. Try the operation again from the Home Screen.';

test('Users: a user is registered and signs in with the device code', async () => {
  await page.goto(`${url}device-management/users`);
  assert.match(await page.textContent('#consent-note'), /Consent on behalf of your organization/);
  await page.fill('#user-name', 'Bad Name');
  await page.fill('#user-email', 'bob@example.test');
  await page.click('#add-user');
  await page.waitForSelector('text=is not a user name');
  await page.fill('#user-name', 'bob');
  await page.fill('#user-email', 'bob@example.test');
  await page.click('#add-user');
  await page.waitForSelector('tr[data-user="bob"]');
  assert.equal((await page.textContent('tr[data-user="bob"] .status')).trim(), 'Signed out');
  await page.click('tr[data-user="bob"] button:has-text("Sign In")');
  const code = await page.textContent('#user-code');
  await shot('21-user-code');
  await run(process.execPath, [path.join(PEERS_DIR, 'user.mjs'), 'approve', '--issuer', env.PB_OIDC_ISSUER, '--code', code, '--login', 'bob']);
  await page.waitForSelector(`#signin-panel .done:has-text("${USER_DONE}")`, { timeout: 30000 });
  assert.equal((await page.textContent('tr[data-user="bob"] .status')).trim(), 'Signed in', 'updated without a reload');
  await shot('22-user-signed-in');
  await page.reload();
  assert.equal((await page.textContent('tr[data-user="bob"] .status')).trim(), 'Signed in');
  assert.match(await page.textContent('tr[data-user="bob"]'), /bob@example\.test/);
  const { stdout } = await pb('--json', 'status', '--profile', 'user:bob');
  assert.equal(JSON.parse(stdout).profiles[0].status, 'signed-in');
});

test('Users: the authorization code flow (Gmail style) in the browser, pasting back the URL', async () => {
  await page.goto(`${url}device-management/users`);
  await page.fill('#user-name', 'erin');
  await page.fill('#user-email', 'erin@example.test');
  await page.click('#add-user');
  await page.waitForSelector('tr[data-user="erin"]');
  await pb('config', 'set', 'user:erin.oauth.grant', 'authorization-code');
  await page.click('tr[data-user="erin"] button:has-text("Sign In")');
  const authorize = await page.getAttribute('#signin-panel a:has-text("the sign-in page")', 'href');
  assert.ok(authorize, 'the panel links to the sign-in page');
  assert.match(authorize, /code_challenge=.*code_challenge_method=S256|code_challenge_method=S256.*code_challenge=/);
  await shot('23-user-authorize-link');

  // The identity provider's pages in a second tab, as the user would; the
  // loopback redirect has nothing listening, like a real device's.
  const idp = await context.newPage();
  let landed;
  const callback = /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\/callback\?/;
  idp.on('request', (r) => { if (callback.test(r.url())) landed = r.url(); });
  await idp.route(callback, (route) => route.fulfill({ status: 404, contentType: 'text/plain', body: 'This page does not load.' }));
  await idp.goto(authorize);
  for (let step = 0; step < 8 && !landed; step += 1) {
    if (await idp.isVisible('input[name="login"]')) {
      await idp.fill('input[name="login"]', 'erin');
      await idp.fill('input[name="password"]', 'any-password');
    }
    await idp.screenshot({ path: path.join(SHOTS, `23-idp-step-${step}.png`) }).catch(() => {});
    try {
      await idp.click('button[type="submit"]', { timeout: 5000 });
      await idp.waitForLoadState('load', { timeout: 5000 });
    } catch { /* the last click ends on the callback, which does not load */ }
  }
  assert.ok(landed, `the browser did not end on the callback: ${idp.url()}`);
  assert.match(landed, /[?&]code=/);
  await idp.close();

  await page.fill('#redirect-url', landed);
  await page.click('#signin-panel button:has-text("OK")');
  await page.waitForSelector(`#signin-panel .done:has-text("${USER_DONE}")`);
  assert.equal((await page.textContent('tr[data-user="erin"] .status')).trim(), 'Signed in');
  await shot('24-user-code-flow-signed-in');
});

test('Status Sheet prints to PDF with the settings and sign-ins; the command prints the same', async () => {
  await page.goto(`${url}device-management/status-sheet`);
  await shot('30-status-sheet');
  const pdf = path.join(SHOTS, 'status-sheet.pdf');
  await page.pdf({ path: pdf, format: 'A4', printBackground: false });
  const { stdout: text } = await run('pdftotext', ['-layout', pdf, '-']);
  for (const want of ['Status Sheet', 'Network', 'Email Server', 'Fax Server', 'Current Status', 'Signed in',
                      'alice@example.test', 'faxer@example.test', env.PB_SMTP_HOST, 'postbridge test CA'])
    assert.ok(text.includes(want), `"${want}" is not in the PDF:\n${text}`);
  assert.ok(!text.includes('Log out'), 'the print view hides the page chrome');
  assert.ok(!text.includes('Job Status'), 'the print view hides the tabs and links');

  const { stdout: sheet } = await pb('status-sheet');
  for (const want of ['Network Status Sheet', 'alice@example.test', 'faxer@example.test', 'Scan to My Email: bob'])
    assert.ok(sheet.includes(want), `"${want}" is not in status-sheet:\n${sheet}`);
  const out = path.join(SHOTS, 'status-sheet.html');
  await pb('status-sheet', '--format', 'html', '-o', out);
  assert.match(fs.readFileSync(out, 'utf8'), /@media print[\s\S]*alice@example\.test/);
  await assert.rejects(pb('status-sheet', '--format', 'pdf'), (e) => e.code === 2 && /'pdf' is not text or html/.test(e.stderr));

  await page.goto(`${url}device-management/email-server-status`);
  assert.match(await page.textContent('main'), /Signed in/);
  await shot('31-email-server-status');
});

test('the JSON API answers with a token only, with the CLI\'s words for bad input', async () => {
  const { stdout } = await pb('--json', 'api-token', 'create', 'ci');
  const { token } = JSON.parse(stdout);
  const api = await playwrightRequest.newContext({ ignoreHTTPSErrors: true, baseURL: url });
  const auth = { Authorization: `Bearer ${token}` };
  const calls = [
    ['get', 'api/v1/status'], ['get', 'api/v1/config'], ['get', 'api/v1/config/email.smtp.host'],
    ['post', 'api/v1/config', { key: 'email.delivery.max_age', value: '4d' }],
    ['get', 'api/v1/signin?profile=email'], ['get', 'api/v1/jobs'], ['get', `api/v1/jobs/${heldJob}`],
    ['post', 'api/v1/send', { to: 'frank@example.test', subject: `api ${process.pid}`, body: 'From the API.' }],
  ];
  for (const [method, target, data] of calls) {
    const none = await api[method](target, { data, headers: {} });
    assert.equal(none.status(), 401, `${method} ${target} without a token`);
    const wrong = await api[method](target, { data, headers: { Authorization: 'Bearer pb_wrong' } });
    assert.equal(wrong.status(), 401, `${method} ${target} with a wrong token`);
    const ok = await api[method](target, { data, headers: auth });
    assert.ok(ok.ok(), `${method} ${target}: ${ok.status()} ${await ok.text()}`);
    assert.doesNotMatch(await ok.text(), new RegExp(token));
  }
  // The calls that change something, without a token, change nothing.
  assert.equal((await api.post('api/v1/signin', { data: { profile: 'email' } })).status(), 401);
  assert.equal((await api.post(`api/v1/jobs/${heldJob}/retry`)).status(), 401);
  assert.equal((await api.post('api/v1/config', { data: { key: 'email.smtp.port', value: '25' } })).status(), 401);
  apiToken = token;

  const status = await (await api.get('api/v1/status', { headers: auth })).json();
  assert.equal(status.profiles.find((p) => p.name === 'email').status, 'signed-in');
  assert.equal((await (await api.get('api/v1/config/email.delivery.max_age', { headers: auth })).json()).value, '4d');
  await waitForMessage(env.PB_MAILDIR, `api ${process.pid}`);

  // Invalid input: the same message and code as the command line.
  const cli = await pb('--json', 'config', 'set', 'email.smtp.port', '99999').catch((e) => e);
  const cliError = JSON.parse(cli.stdout.trim().split('\n')[0]);
  const bad = await api.post('api/v1/config', { data: { key: 'email.smtp.port', value: '99999' }, headers: auth });
  assert.equal(bad.status(), 400);
  const apiError = await bad.json();
  assert.equal(apiError.error, cliError.error);
  assert.equal(apiError.code, cliError.code);
  const cliSend = await pb('--json', 'send', '--to', 'not an address', '--subject', 's').catch((e) => e);
  const apiSend = await (await api.post('api/v1/send', { data: { to: 'not an address', subject: 's' }, headers: auth })).json();
  assert.equal(apiSend.error, JSON.parse(cliSend.stdout.trim().split('\n')[0]).error);
  const missing = await api.get('api/v1/jobs/999999', { headers: auth });
  assert.equal(missing.status(), 404);
  assert.equal((await missing.json()).error, 'there is no job 999999');
  const retried = await api.post(`api/v1/jobs/${heldJob}/retry`, { headers: auth });
  assert.equal(retried.status(), 400, 'a sent job has nothing left to send');
  const start = await api.post('api/v1/signin', { data: { profile: 'user:bob' }, headers: auth });
  const started = await start.json();
  assert.equal(started.event, 'device_code');
  assert.match(started.message, /^To sign in, use a web browser to open the page \S+ and enter the code \S+ to authenticate\.$/);
  await api.dispose();
});

test('Product Security changes the administrator password', async () => {
  await page.goto(`${url}product-security`);
  await page.fill('#current-password', password);
  await page.fill('#new-password', 'short');
  await page.fill('#confirm-password', 'short');
  await page.click('#ok');
  await page.waitForSelector('text=the password must have at least 8 characters');
  await page.fill('#current-password', password);
  await page.fill('#new-password', 'a new administrator password');
  await page.fill('#confirm-password', 'a new administrator password');
  await page.click('#ok');
  await page.waitForSelector('text=The administrator password was changed.');
  await shot('40-product-security');
  password = 'a new administrator password';
  await page.goto(`${url}network/email/basic`);
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

test('the Fax tab opens the Fax Server page; a new service signs the old one out, said before OK', async () => {
  await page.goto(`${url}network/email/basic`);
  await page.click('nav a:has-text("Fax")');
  assert.match(await page.textContent('h1'), /Fax > Fax Server > Email Server Settings/);
  assert.equal(await page.textContent('#current-status'), 'Signed in');
  assert.ok(await page.isHidden('#switch-warning'));
  await page.selectOption('#f-service', 'outlook-com');
  assert.ok(await page.isVisible('#switch-warning'), 'the page says so before OK');
  assert.match(await page.textContent('#switch-warning'), /Pressing OK signs faxer@example\.test out/);
  // The fields of the new service show; the guide is beside it.
  assert.ok(await page.isVisible('#f-oauth_tenant'));
  assert.equal(await page.inputValue('#f-oauth_tenant'), 'consumers', 'the preset fills what OK will apply');
  assert.ok(await page.isHidden('#f-oauth_issuer'));
  assert.ok(await page.isVisible('a[href="/guide/outlook-com"]'));
  await shot('24-switch-warning');
  await page.click('#ok');
  await page.waitForSelector('text=/faxer@example\\.test \\(profile fax\\) was ended.*revoked at the old provider/');
  assert.equal(await page.textContent('#current-status'), 'Signed out');
  await serveLogged('web: The sign-in of faxer@example.test (profile fax) was ended');
  const { stdout } = await pb('--json', 'status', '--profile', 'fax');
  assert.equal(JSON.parse(stdout).profiles[0].status, 'signed-out');
  await shot('25-switched-signed-out');
  // The guide the link opens.
  await page.goto(`${url}guide/outlook-com`);
  assert.match(await page.textContent('h1'), /Outlook\.com/);
  await shot('26-guide-outlook-com');
});

test('client credentials set on the page sign in at once, and a job goes out with no command', async () => {
  await page.goto(`${url}fax/email-server`);
  await page.selectOption('#f-service', 'custom');
  await page.fill('#f-oauth_issuer', env.PB_OIDC_ISSUER);
  await page.selectOption('#f-oauth_grant', 'client-credentials');
  await page.fill('#f-oauth_client_id', env.PB_APP_CLIENT_ID);
  await page.fill('#f-oauth_client_secret', 'not-the-secret');
  await page.fill('#f-oauth_scopes', 'smtp.send');
  await page.fill('#f-smtp_host', env.PB_SMTP_HOST);
  await page.fill('#f-smtp_port', String(env.PB_SMTP_PORT));
  await page.click('#ok');
  // The provider's refusal, with its code.
  await page.waitForSelector('p.error[role="alert"]:has-text("Code ")');
  assert.match(await page.textContent('p.error[role="alert"]'), /Code \d{3}: .*invalid_client/);
  await shot('27-client-credentials-wrong-secret');
  assert.equal(await page.inputValue('#f-oauth_client_secret'), '', 'a secret never comes back');
  await page.fill('#f-oauth_client_secret', env.PB_APP_CLIENT_SECRET);
  await page.click('#ok');
  await page.waitForSelector('#current-status:has-text("Signed in (app)")');
  await shot('28-client-credentials-signed-in');
  await page.fill('#test-to', 'erin@example.test');
  await page.click('#send-test');
  await page.waitForSelector('text=The test email was accepted as job');
  const sent = await waitForMessage(env.PB_MAILDIR, 'settings of fax', 20000);
  assert.match(sent.text, /erin@example\.test/);
});

test('Scan to My Email: a user signs in on /my-email with no administrator login; another account is refused; the held scan then goes out from the user\'s address', async () => {
  await pb('users', 'add', 'dora', '--email', 'Dora@example.test');
  const subject = `dora's scan ${process.pid}`;
  const { stdout } = await pb('--json', 'send', '--profile', 'user:dora', '--to', 'erin@example.test', '--subject', subject, '--body', 'Scanned.');
  const held = JSON.parse(stdout.trim().split('\n')[0]);
  const shown = JSON.parse((await pb('--json', 'jobs', 'show', String(held.job))).stdout);
  assert.equal(shown.state, 'held');
  assert.equal(shown.code, 360);
  assert.match(shown.remedy, /My Email page \(\/my-email\)/);

  // The user's own browser: no administrator session.
  const userContext = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 900, height: 800 } });
  const user = await userContext.newPage();
  const ask = async () => {
    await user.goto(`${url}my-email`);
    await user.fill('#my-address', 'dora@example.test');
    await user.click('#my-sign-in');
    return user.textContent('#user-code');
  };
  let code = await ask();
  await user.screenshot({ path: path.join(SHOTS, '29-my-email-code.png'), fullPage: true });
  // Someone else's account signs in with the code: refused, nothing kept.
  await run(process.execPath, [path.join(PEERS_DIR, 'user.mjs'), 'approve', '--issuer', env.PB_OIDC_ISSUER, '--code', code, '--login', 'mallory']);
  await serveLogged('web: sign-in of user:dora failed: You signed in as mallory@example.test', 30000);
  await user.click('#my-status');
  assert.match(await user.textContent('#my-result'), /You signed in as mallory@example\.test, but this sign-in is for Dora@example\.test/);
  await user.screenshot({ path: path.join(SHOTS, '30-my-email-wrong-account.png'), fullPage: true });
  assert.equal(JSON.parse((await pb('--json', 'status', '--profile', 'user:dora')).stdout).profiles[0].status, 'signed-out');

  // The right account.
  code = await ask();
  await run(process.execPath, [path.join(PEERS_DIR, 'user.mjs'), 'approve', '--issuer', env.PB_OIDC_ISSUER, '--code', code, '--login', 'dora']);
  await serveLogged('web: profile user:dora signed in', 30000);
  await user.click('#my-status');
  assert.equal(await user.textContent('#my-result'), USER_DONE);
  await user.screenshot({ path: path.join(SHOTS, '31-my-email-signed-in.png'), fullPage: true });
  await userContext.close();

  // The held scan goes out by itself, from the user's own address.
  const sent = await waitForMessage(env.PB_MAILDIR, subject, 30000);
  assert.match(sent.text, /^From: .*Dora@example\.test/im);
});

test('serve stops cleanly on SIGTERM and never logged the password', async () => {
  const exited = new Promise((resolve) => serve.on('exit', (code, signal) => resolve({ code, signal })));
  serve.kill('SIGTERM');
  const { code } = await exited;
  assert.equal(code, 0);
  assert.ok(!log.includes(password), 'the administrator password is not in the log');
  assert.ok(apiToken && !log.includes(apiToken), 'the API token is not in the log');
  // The lock went with the process: a new serve starts, and prints no new password.
  const again = spawn(BINARY, ['--state', state, 'serve', '--web', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const line = await new Promise((resolve) => again.stdout.once('data', (d) => resolve(String(d))));
  again.kill('SIGTERM');
  assert.match(line, /^Web Config: https:\/\/127\.0\.0\.1:\d+\/\n$/);
});
