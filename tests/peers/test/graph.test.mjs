// Proves the Graph peer (graph.mjs) against its documented contract, with
// real tokens from the test authorization server: sendMail with MIME and
// JSON, Bcc kept out of what recipients get, drafts with upload sessions,
// the 4 MiB request limit, throttling, the per-mailbox concurrency limit,
// and the tokens it refuses (SMTP resource, missing scope, other mailbox).
// Run: with-peers.sh RUNDIR node --test test/graph.test.mjs
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { deviceFlowTokens, maildirMessages, peersEnv, token } from '../testlib.mjs';

const env = peersEnv();
const G = env.PB_GRAPH_ENDPOINT;
const peerRoot = G.replace(/\/v1\.0$/, '');
const MAIL_SCOPE = 'openid email offline_access mail.send mail.readwrite';
let alice; // a Graph token for alice

const b64 = (s) => Buffer.from(s).toString('base64');
const bearer = (t) => ({ authorization: `Bearer ${t}` });

async function call(method, url, { tok, body, type, headers = {} } = {}) {
  const h = { ...headers };
  if (tok) Object.assign(h, bearer(tok));
  if (type) h['content-type'] = type;
  const res = await fetch(url, { method, headers: h, body });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { /* empty */ }
  return { status: res.status, json, headers: res.headers };
}

const testRoute = (p, method = 'GET') => call(method, `${peerRoot}/_test/${p}`);

function delivered(needle) {
  for (const m of maildirMessages(env.PB_GRAPH_MAILDIR)) {
    const text = fs.readFileSync(m.file, 'latin1');
    if (text.includes(needle)) return { ...m, text };
  }
  return undefined;
}

before(async () => {
  alice = (await deviceFlowTokens(env.PB_OIDC_ISSUER, { login: 'alice', scope: MAIL_SCOPE })).access_token;
});
after(async () => { await testRoute('throttle?every=0', 'POST'); });

test('sendMail with base64 MIME: delivered byte-identical, Bcc only in the envelope', async () => {
  const tag = `mime-${crypto.randomUUID()}`;
  const mime = `From: alice@example.test\r\nTo: bob@example.test\r\nBcc: carol@example.test\r\n`
    + `Subject: ${tag}\r\nMessage-ID: <${tag}@example.test>\r\n\r\nhello\r\n`;
  const r = await call('POST', `${G}/users/alice@example.test/sendMail`, { tok: alice, body: b64(mime), type: 'text/plain' });
  assert.equal(r.status, 202, JSON.stringify(r.json));
  const m = delivered(tag);
  assert.deepEqual(m.envelope.recipients.sort(), ['bob@example.test', 'carol@example.test']);
  assert.equal(m.envelope.via, 'sendMail');
  assert.equal(m.text, mime.replace('Bcc: carol@example.test\r\n', ''));
});

test('sendMail with JSON and saveToSentItems false', async () => {
  const tag = `json-${crypto.randomUUID()}`;
  const body = JSON.stringify({
    message: { subject: tag, body: { contentType: 'Text', content: 'hi' }, toRecipients: [{ emailAddress: { address: 'bob@example.test' } }] },
    saveToSentItems: false,
  });
  const r = await call('POST', `${G}/me/sendMail`, { tok: alice, body, type: 'application/json' });
  assert.equal(r.status, 202, JSON.stringify(r.json));
  const m = delivered(tag);
  assert.equal(m.envelope.saveToSentItems, false);
  assert.deepEqual(m.envelope.recipients, ['bob@example.test']);
});

test('bad base64 is 400 ErrorMimeContentInvalidBase64String; over 4 MiB is 413', async () => {
  const bad = await call('POST', `${G}/users/alice@example.test/sendMail`, { tok: alice, body: '@@@', type: 'text/plain' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 'ErrorMimeContentInvalidBase64String');
  const big = await call('POST', `${G}/users/alice@example.test/sendMail`,
    { tok: alice, body: 'A'.repeat(4 * 1024 * 1024 + 4), type: 'text/plain' });
  assert.equal(big.status, 413);
});

test('tokens refused: SMTP resource, no mail.send, another mailbox, no mailbox', async () => {
  const mime = b64('From: a@example.test\r\nTo: b@example.test\r\nSubject: x\r\n\r\nx\r\n');
  const smtpTok = (await deviceFlowTokens(env.PB_OIDC_ISSUER, { login: 'alice' })).access_token; // smtp.send
  let r = await call('POST', `${G}/users/alice@example.test/sendMail`, { tok: smtpTok, body: mime, type: 'text/plain' });
  assert.equal(r.status, 401);
  assert.equal(r.json.error.code, 'InvalidAuthenticationToken');
  const noSend = (await deviceFlowTokens(env.PB_OIDC_ISSUER, { login: 'alice', scope: 'openid email mail.readwrite' })).access_token;
  r = await call('POST', `${G}/users/alice@example.test/sendMail`, { tok: noSend, body: mime, type: 'text/plain' });
  assert.equal(r.status, 403);
  assert.equal(r.json.error.code, 'ErrorAccessDenied');
  r = await call('POST', `${G}/users/bob@example.test/sendMail`, { tok: alice, body: mime, type: 'text/plain' });
  assert.equal(r.status, 403);
  assert.equal(r.json.error.code, 'ErrorSendAsDenied');
  r = await call('POST', `${G}/users/alice@example.test/sendMail`, { body: mime, type: 'text/plain' });
  assert.equal(r.status, 401);
  const app = await token(env.PB_OIDC_ISSUER, { grant_type: 'client_credentials', scope: 'mail.send' },
    [env.PB_APP_CLIENT_ID, env.PB_APP_CLIENT_SECRET]);
  assert.equal(app.status, 200, JSON.stringify(app.body));
  r = await call('POST', `${G}/users/nomailbox@example.test/sendMail`, { tok: app.body.access_token, body: mime, type: 'text/plain' });
  assert.equal(r.status, 404);
  assert.equal(r.json.error.code, 'ErrorInvalidUser');
});

test('app-only token sends as any mailbox', async () => {
  const app = await token(env.PB_OIDC_ISSUER, { grant_type: 'client_credentials', scope: 'mail.send' },
    [env.PB_APP_CLIENT_ID, env.PB_APP_CLIENT_SECRET]);
  const tag = `app-${crypto.randomUUID()}`;
  const r = await call('POST', `${G}/users/scanner@example.test/sendMail`,
    { tok: app.body.access_token, body: b64(`From: scanner@example.test\r\nTo: bob@example.test\r\nSubject: ${tag}\r\n\r\nx\r\n`), type: 'text/plain' });
  assert.equal(r.status, 202, JSON.stringify(r.json));
  assert.equal(delivered(tag).envelope.app, true);
});

test('draft + upload session in ordered ranges: attachment byte-identical, headers kept', async () => {
  const tag = `draft-${crypto.randomUUID()}`;
  const mime = `From: alice@example.test\r\nTo: bob@example.test\r\nCc: dave@example.test\r\nBcc: erin@example.test\r\n`
    + `Subject: ${tag}\r\nMessage-ID: <${tag}@example.test>\r\nMIME-Version: 1.0\r\n`
    + 'Content-Type: text/plain; charset=us-ascii\r\n\r\nscan attached\r\n';
  const d = await call('POST', `${G}/users/alice@example.test/messages`, { tok: alice, body: b64(mime), type: 'text/plain' });
  assert.equal(d.status, 201, JSON.stringify(d.json));
  const data = crypto.randomBytes(9 * 1024 * 1024 + 123);
  const s = await call('POST', `${G}/users/alice@example.test/messages/${d.json.id}/attachments/createUploadSession`, {
    tok: alice, type: 'application/json',
    body: JSON.stringify({ attachmentItem: { attachmentType: 'file', name: 'scan.pdf', size: data.length, contentType: 'application/pdf' } }),
  });
  assert.equal(s.status, 201, JSON.stringify(s.json));
  assert.deepEqual(s.json.nextExpectedRanges, ['0-']);
  const url = s.json.uploadUrl;
  const put = (first, last, headers = {}) => call('PUT', url, {
    body: data.subarray(first, last + 1),
    headers: { 'content-range': `bytes ${first}-${last}/${data.length}`, ...headers },
  });
  // With Authorization the pre-authenticated URL refuses.
  assert.equal((await put(0, 99, bearer(alice))).status, 401);
  // Out of order is refused.
  assert.equal((await put(100, 199)).status, 416);
  const step = 4 * 1024 * 1024;
  for (let first = 0; first < data.length; first += step) {
    const last = Math.min(first + step, data.length) - 1;
    const r = await put(first, last);
    assert.equal(r.status, last === data.length - 1 ? 201 : 200, JSON.stringify(r.json));
  }
  const sent = await call('POST', `${G}/users/alice@example.test/messages/${d.json.id}/send`, { tok: alice });
  assert.equal(sent.status, 202, JSON.stringify(sent.json));
  const m = delivered(tag);
  assert.equal(m.envelope.via, 'draft');
  assert.equal(m.envelope.saveToSentItems, true);
  assert.deepEqual(m.envelope.recipients.sort(), ['bob@example.test', 'dave@example.test', 'erin@example.test']);
  assert.equal(m.envelope.attachments[0].sha256, crypto.createHash('sha256').update(data).digest('hex'));
  assert.match(m.text, new RegExp(`Message-ID: <${tag}@example.test>`));
  assert.doesNotMatch(m.text, /^Bcc:/m);
  const part = m.text.split('Content-Transfer-Encoding: base64\r\n\r\n')[1].split('\r\n--')[0];
  assert.ok(Buffer.from(part.replace(/\s+/g, ''), 'base64').equals(data));
});

test('a draft can be deleted', async () => {
  const d = await call('POST', `${G}/users/alice@example.test/messages`,
    { tok: alice, body: b64('To: bob@example.test\r\nSubject: gone\r\n\r\nx\r\n'), type: 'text/plain' });
  assert.equal((await call('DELETE', `${G}/users/alice@example.test/messages/${d.json.id}`, { tok: alice })).status, 204);
  assert.equal((await call('DELETE', `${G}/users/alice@example.test/messages/${d.json.id}`, { tok: alice })).status, 404);
});

test('every Nth request gets 429 with Retry-After; 503 too when asked', async () => {
  await testRoute('throttle?every=2&retryAfter=3', 'POST');
  const mime = b64('From: alice@example.test\r\nTo: bob@example.test\r\nSubject: t\r\n\r\nx\r\n');
  const send = () => call('POST', `${G}/users/alice@example.test/sendMail`, { tok: alice, body: mime, type: 'text/plain' });
  assert.equal((await send()).status, 202);
  const r = await send();
  assert.equal(r.status, 429);
  assert.equal(r.headers.get('retry-after'), '3');
  assert.equal(r.json.error.code, 'ApplicationThrottled');
  await testRoute('throttle?every=1&retryAfter=1&status=503', 'POST');
  const u = await send();
  assert.equal(u.status, 503);
  assert.equal(u.headers.get('retry-after'), '1');
  await testRoute('throttle?every=0', 'POST');
});

test('a fifth concurrent request per mailbox gets 429', async () => {
  // Five uploads to one draft stay open (bodies not finished): the draft's
  // requests are the mailbox's; the fifth Graph call is refused.
  const mime = b64('From: alice@example.test\r\nTo: bob@example.test\r\nSubject: c\r\n\r\nx\r\n');
  const http = await import('node:http');
  const url = new URL(`${G}/users/alice@example.test/sendMail`);
  await testRoute('reset', 'POST');
  const open = [];
  for (let i = 0; i < 4; i += 1) {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST',
      headers: { ...bearer(alice), 'content-type': 'text/plain', 'content-length': mime.length } });
    req.on('error', () => {});
    req.write(mime.slice(0, 4)); // the rest later: the request stays under way
    open.push(new Promise((resolve) => { req.on('response', (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); }); }));
    open[i].req = req;
  }
  // Wait until the peer counts four under way (introspection is asynchronous).
  for (;;) {
    const s = await testRoute('stats');
    if (s.json.maxConcurrent >= 4) break;
    await new Promise((resolve) => { setImmediate(resolve); });
  }
  const fifth = await call('POST', url.href, { tok: alice, body: mime, type: 'text/plain' });
  assert.equal(fifth.status, 429);
  assert.ok(fifth.headers.get('retry-after'));
  for (const p of open) p.req.end(mime.slice(4));
  assert.deepEqual(await Promise.all(open), [202, 202, 202, 202]);
});
