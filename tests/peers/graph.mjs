#!/usr/bin/env node
// A Microsoft Graph mail peer for postbridge's tests, written from the
// documented contract (../shared spec, providers.md section 3): no Graph
// server can run here. Loopback only, plain HTTP (postbridge allows http
// for graph.endpoint on loopback only).
//
//   node graph.mjs --issuer URL --maildir DIR [--port 0] [--host 127.0.0.1]
//                  [--throttle-every N] [--retry-after S] [--max-concurrent 4]
// Prints {"port":..,"endpoint":"http://127.0.0.1:PORT/v1.0"} once listening.
//
// What it does, as Graph documents it:
// - POST /v1.0/users/{id}/sendMail (and /me/sendMail): a base64 MIME
//   message (Content-Type text/plain) or JSON {"message":..,"saveToSentItems":..};
//   202 Accepted. Recipients are those of the To, Cc and Bcc headers (MIME)
//   or the recipient lists (JSON); Bcc is not in what recipients get.
// - POST /users/{id}/messages: a draft from base64 MIME or JSON; 201 {id}.
//   POST .../messages/{id}/attachments: a small fileAttachment (contentBytes).
//   POST .../messages/{id}/attachments/createUploadSession {attachmentItem}:
//   201 {uploadUrl,expirationDateTime,nextExpectedRanges:["0-"]}; then PUTs of
//   ordered ranges of at most 4 MiB to uploadUrl, which is pre-authenticated:
//   a PUT carrying Authorization is refused (401). 200 with
//   nextExpectedRanges while bytes are missing, 201 and Location at the end.
//   POST .../messages/{id}/send: 202; the draft is rebuilt as Exchange does
//   (its headers kept, its body and every attachment re-encoded as parts of
//   a new multipart/mixed), and it is always saved to Sent Items.
//   DELETE .../messages/{id}: 204 (a draft left by a crash).
// - Every request body is at most 4 MiB (413 otherwise).
// - Bearer tokens are checked at the authorization server's introspection
//   endpoint: active, Bearer, scope mail.send (mail.readwrite for drafts and
//   attachments), and never a token that carries the SMTP scope smtp.send
//   (a token of another resource: 401 InvalidAuthenticationToken). A user
//   token sends only as its own mailbox, or as another with mail.send.shared;
//   an app token (client credentials) as anyone. A mailbox whose local part
//   starts with "nomailbox" does not exist (404 ErrorInvalidUser).
// - At most --max-concurrent (4) requests at once per mailbox, else 429
//   ApplicationThrottled with Retry-After; with --throttle-every N (or
//   POST /_test/throttle), every Nth request gets 429 + Retry-After too.
//
// Delivered messages land in DIR/new (tmp -> rename) like smtp.mjs's
// maildir: NAME is the MIME a recipient gets, NAME.envelope.json (written
// first) says {via, user, from, recipients, saveToSentItems, attachments:
// [{name,size,sha256,contentType}], size}. Readers skip *.envelope.json.
//
// Test routes (no token): GET /_test/stats, POST /_test/throttle?every=N&[mailbox=M&]
// retryAfter=S&status=429|503, POST /_test/reset, GET /_test/drafts (each draft's
// id, mailbox, subject, attachments, and its open upload sessions: name, size, received).
import crypto from 'node:crypto';
import fs from 'node:fs';
import { once } from 'node:events';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { parseArgs } from 'node:util';

console.log = console.info = console.error; // stdout is for the JSON line only

const { values: opt } = parseArgs({
  options: {
    issuer: { type: 'string', default: process.env.PB_OIDC_ISSUER },
    maildir: { type: 'string', default: process.env.PB_GRAPH_MAILDIR },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'throttle-every': { type: 'string', default: process.env.PB_GRAPH_THROTTLE_EVERY || '0' },
    'retry-after': { type: 'string', default: process.env.PB_GRAPH_RETRY_AFTER || '1' },
    'max-concurrent': { type: 'string', default: '4' },
  },
});
const die = (msg) => { console.error(`graph.mjs: ${msg}`); process.exit(2); };
if (!opt.issuer || !opt.maildir) die('--issuer and --maildir are required');
for (const sub of ['tmp', 'new', 'cur', 'drafts']) fs.mkdirSync(path.join(opt.maildir, sub), { recursive: true });

const MAX_REQUEST = 4 * 1024 * 1024; // "The maximum request length supported is 4MB"
const MAX_MESSAGE = 150 * 1024 * 1024;
const MAX_CONCURRENT = Number(opt['max-concurrent']);

const throttle = { every: Number(opt['throttle-every']), retryAfter: Number(opt['retry-after']), status: 429, mailbox: '' };
const stats = {
  requests: 0, throttled: 0, concurrencyRefused: 0, maxConcurrent: 0, sendMail: 0, drafts: 0, sent: 0,
  uploadPuts: 0, deleted: 0, maxRequestBytes: 0, refusedTokens: 0,
};
const active = new Map(); // mailbox -> requests under way

// ---- tokens -----------------------------------------------------------------

let introspectionEndpoint;
async function introspect(token) {
  introspectionEndpoint ??= (await (await fetch(`${opt.issuer}/.well-known/openid-configuration`)).json())
    .introspection_endpoint;
  const res = await fetch(introspectionEndpoint, {
    method: 'POST',
    headers: {
      // The SMTP peer's introspection client: a resource server's identity.
      authorization: `Basic ${Buffer.from('smtp-server:introspect-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
  });
  if (!res.ok) throw new Error(`introspection HTTP ${res.status}`);
  return res.json();
}

class GraphError extends Error {
  constructor(status, code, message, headers = {}) {
    super(message);
    Object.assign(this, { status, code, headers });
  }
}

// Who may act on mailbox `user` with this token; throws GraphError.
async function authorize(req, user, needScope) {
  const m = /^Bearer (\S+)$/.exec(req.headers.authorization || '');
  if (!m) throw new GraphError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
  const t = await introspect(m[1]);
  const scopes = (t.scope || '').split(' ');
  if (!t.active || t.token_type !== 'Bearer' || scopes.includes('smtp.send')) {
    stats.refusedTokens += 1;
    throw new GraphError(401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.');
  }
  if (!scopes.includes(needScope) && !(needScope === 'mail.send' && scopes.includes('mail.send.shared'))) {
    throw new GraphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
  }
  const mailbox = user.toLowerCase();
  if (mailbox.split('@')[0].startsWith('nomailbox')) {
    throw new GraphError(404, 'ErrorInvalidUser', `The requested user '${user}' is invalid.`);
  }
  if (!t.sub) return { app: true, mailbox }; // client credentials: application permission
  const names = [t.sub, t.email, t.username].filter(Boolean).map((n) => n.toLowerCase());
  if (!names.includes(mailbox) && !scopes.includes('mail.send.shared')) {
    throw new GraphError(403, 'ErrorSendAsDenied',
      'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account.');
  }
  return { app: false, mailbox };
}

// ---- MIME bits ----------------------------------------------------------------

// Splits a message at the blank line; header lines unfolded.
function splitMessage(buf) {
  let end = buf.indexOf('\r\n\r\n');
  let sep = 4;
  if (end < 0) { end = buf.indexOf('\n\n'); sep = 2; }
  if (end < 0) { end = buf.length; sep = 0; }
  const head = buf.subarray(0, end).toString('latin1');
  const headers = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && headers.length) headers[headers.length - 1].raw += `\r\n${line}`;
    else if (line) headers.push({ raw: line });
  }
  for (const h of headers) {
    const i = h.raw.indexOf(':');
    h.name = h.raw.slice(0, i).trim().toLowerCase();
    h.value = h.raw.slice(i + 1).replace(/\r\n[ \t]/g, ' ').trim();
  }
  return { headers, body: buf.subarray(Math.min(buf.length, end + sep)) };
}

function addresses(value) {
  const out = [];
  // Drop quoted display names and comments, then take <addr> or bare addr-specs.
  const v = value.replace(/"(?:[^"\\]|\\.)*"/g, '').replace(/\([^)]*\)/g, '');
  for (const part of v.split(',')) {
    const angle = /<([^>]*)>/.exec(part);
    const a = (angle ? angle[1] : part).trim();
    if (a.includes('@')) out.push(a.toLowerCase());
  }
  return out;
}

const headerRecipients = (headers) => headers.filter((h) => ['to', 'cc', 'bcc'].includes(h.name))
  .flatMap((h) => addresses(h.value));
const withoutBcc = (headers) => headers.filter((h) => h.name !== 'bcc');

function decodeBase64Body(body) {
  const text = body.toString('latin1').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new GraphError(400, 'ErrorMimeContentInvalidBase64String', 'Invalid base64 string for MIME content.');
  }
  return Buffer.from(text, 'base64');
}

// Base64 in lines of 76, streaming (for attachments of 150 MB).
function base64Lines() {
  let rest = Buffer.alloc(0);
  return new Transform({
    transform(chunk, enc, cb) {
      const all = Buffer.concat([rest, chunk]);
      const whole = all.length - (all.length % 57);
      rest = all.subarray(whole);
      const lines = [];
      for (let i = 0; i < whole; i += 57) lines.push(all.subarray(i, i + 57).toString('base64'), '\r\n');
      cb(null, lines.join(''));
    },
    flush(cb) { cb(null, rest.length ? `${rest.toString('base64')}\r\n` : ''); },
  });
}

// ---- storage --------------------------------------------------------------------

let seq = 0;
const uniqueName = () => `${Date.now()}.${process.pid}_${(seq += 1)}.graph`;

// Writes a delivered message: `write(stream)` fills the file; sidecar first.
async function deliver(envelope, write) {
  const name = uniqueName();
  const tmp = path.join(opt.maildir, 'tmp', name);
  const out = fs.createWriteStream(tmp);
  await write(out);
  await new Promise((resolve, reject) => { out.end(); out.once('finish', resolve); out.once('error', reject); });
  const newDir = path.join(opt.maildir, 'new');
  const sidecar = { message: name, ...envelope, size: fs.statSync(tmp).size, receivedAt: new Date().toISOString() };
  fs.writeFileSync(`${tmp}.envelope.json`, `${JSON.stringify(sidecar, null, 2)}\n`);
  fs.renameSync(`${tmp}.envelope.json`, path.join(newDir, `${name}.envelope.json`));
  fs.renameSync(tmp, path.join(newDir, name));
  return name;
}

const writeAll = (out, data) => new Promise((resolve, reject) => {
  out.write(data, (err) => (err ? reject(err) : resolve()));
});

// Drafts: id -> { user, mailbox, headers, body (Buffer of the part), attachments: [...] }
const drafts = new Map();
const sessions = new Map(); // upload id -> { draftId, item, file, received, size }

function jsonMessageToMime(message, from) {
  const list = (xs) => (xs || []).map((r) => r.emailAddress?.address).filter(Boolean);
  const lines = [`From: ${from}`];
  if (list(message.toRecipients).length) lines.push(`To: ${list(message.toRecipients).join(', ')}`);
  if (list(message.ccRecipients).length) lines.push(`Cc: ${list(message.ccRecipients).join(', ')}`);
  if (list(message.bccRecipients).length) lines.push(`Bcc: ${list(message.bccRecipients).join(', ')}`);
  lines.push(`Subject: ${message.subject || ''}`, 'MIME-Version: 1.0',
    `Content-Type: ${message.body?.contentType === 'html' ? 'text/html' : 'text/plain'}; charset=utf-8`,
    'Content-Transfer-Encoding: 8bit', '', message.body?.content || '');
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

// ---- request plumbing ------------------------------------------------------------

// Read to the end even when the body is too large, keeping none of the
// excess: leaving the loop early destroys the request, and a client still
// uploading then sees a reset instead of the 413.
async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size <= MAX_REQUEST) chunks.push(c);
  }
  if (size > MAX_REQUEST) {
    throw new GraphError(413, 'RequestEntityTooLarge', 'The maximum request length supported is 4MB.');
  }
  stats.maxRequestBytes = Math.max(stats.maxRequestBytes, size);
  return Buffer.concat(chunks);
}

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { ...(text ? { 'content-type': 'application/json' } : {}), ...headers });
  res.end(text);
}

function sendError(res, e) {
  send(res, e.status, { error: { code: e.code, message: e.message, innerError: { date: new Date().toISOString() } } },
    e.headers);
}

const isJson = (req) => /^application\/json\b/i.test(req.headers['content-type'] || '');
const isMime = (req) => /^text\/plain\b/i.test(req.headers['content-type'] || '');

// The message a request posts (MIME or JSON): { headers, body, save }.
async function postedMessage(req, from) {
  const raw = await readBody(req);
  if (isMime(req)) return { ...splitMessage(decodeBase64Body(raw)), save: true };
  if (!isJson(req)) throw new GraphError(415, 'UnsupportedMediaType', 'Content-Type must be application/json or text/plain.');
  let doc;
  try { doc = JSON.parse(raw.toString('utf8')); } catch {
    throw new GraphError(400, 'BadRequest', 'Unable to read JSON request payload.');
  }
  const message = doc.message ?? doc;
  if (!message || typeof message !== 'object') throw new GraphError(400, 'ErrorInvalidRequest', 'No message.');
  const mime = splitMessage(jsonMessageToMime(message, from));
  const attachments = (message.attachments || []).map((a) => ({
    name: a.name, contentType: a.contentType || 'application/octet-stream', data: Buffer.from(a.contentBytes || '', 'base64'),
  }));
  return { ...mime, save: doc.saveToSentItems !== false, jsonAttachments: attachments };
}

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

async function sendMail(req, res, who) {
  const msg = await postedMessage(req, who.mailbox);
  const recipients = headerRecipients(msg.headers);
  if (!recipients.length) throw new GraphError(400, 'ErrorInvalidRecipients', 'At least one recipient is not valid.');
  if (msg.jsonAttachments?.length) {
    await deliverRebuilt({ via: 'sendMail', who, msg, files: msg.jsonAttachments, save: msg.save });
  } else {
    const envelope = {
      via: 'sendMail', user: who.mailbox, app: who.app, from: fromOf(msg.headers, who),
      recipients, saveToSentItems: msg.save, attachments: [],
    };
    await deliver(envelope, async (out) => {
      await writeAll(out, `${withoutBcc(msg.headers).map((h) => h.raw).join('\r\n')}\r\n\r\n`);
      await writeAll(out, msg.body);
    });
  }
  stats.sendMail += 1;
  send(res, 202);
}

function fromOf(headers, who) {
  const f = headers.find((h) => h.name === 'from');
  return f ? (addresses(f.value)[0] || who.mailbox) : who.mailbox;
}

// A draft sent: its headers, then a new multipart/mixed of its own body and
// each attachment (files on disk for uploaded ones), streamed.
async function deliverRebuilt({ via, who, msg, files, save }) {
  const boundary = `----=_graph_${crypto.randomBytes(9).toString('hex')}`;
  const keep = withoutBcc(msg.headers).filter((h) => !['content-type', 'content-transfer-encoding', 'mime-version'].includes(h.name));
  const partHead = msg.headers.filter((h) => ['content-type', 'content-transfer-encoding'].includes(h.name));
  const attachments = [];
  for (const f of files) {
    const hash = crypto.createHash('sha256');
    let size = 0;
    if (f.file) {
      for await (const c of fs.createReadStream(f.file)) { hash.update(c); size += c.length; }
    } else { hash.update(f.data); size = f.data.length; }
    attachments.push({ name: f.name, size, sha256: hash.digest('hex'), contentType: f.contentType });
  }
  const envelope = {
    via, user: who.mailbox, app: who.app, from: fromOf(msg.headers, who), recipients: headerRecipients(msg.headers),
    saveToSentItems: save, attachments,
  };
  return deliver(envelope, async (out) => {
    await writeAll(out, `${keep.map((h) => h.raw).join('\r\n')}\r\nMIME-Version: 1.0\r\n`
      + `Content-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n`);
    await writeAll(out, `--${boundary}\r\n${partHead.map((h) => h.raw).join('\r\n')}\r\n\r\n`);
    await writeAll(out, msg.body);
    for (const f of files) {
      await writeAll(out, `\r\n--${boundary}\r\nContent-Type: ${f.contentType}; name="${f.name}"\r\n`
        + `Content-Disposition: attachment; filename="${f.name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n`);
      const src = f.file ? fs.createReadStream(f.file) : [f.data];
      const b64 = base64Lines();
      const done = pipeline(src, b64);
      for await (const c of b64) await writeAll(out, c);
      await done;
    }
    await writeAll(out, `\r\n--${boundary}--\r\n`);
  });
}

function draftOf(who, id) {
  const d = drafts.get(id);
  if (!d || d.mailbox !== who.mailbox) throw new GraphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
  return d;
}

function removeDraft(id) {
  const d = drafts.get(id);
  if (!d) return;
  for (const a of d.attachments) if (a.file) fs.rmSync(a.file, { force: true });
  for (const [sid, s] of sessions) if (s.draftId === id) { fs.rmSync(s.file, { force: true }); sessions.delete(sid); }
  drafts.delete(id);
}

async function createDraft(req, res, who) {
  const msg = await postedMessage(req, who.mailbox);
  const id = `AAMk${crypto.randomBytes(12).toString('hex')}`;
  drafts.set(id, { id, mailbox: who.mailbox, msg, attachments: (msg.jsonAttachments || []).slice(), createdAt: Date.now() });
  stats.drafts += 1;
  const subject = msg.headers.find((h) => h.name === 'subject')?.value ?? '';
  send(res, 201, { id, isDraft: true, subject, internetMessageId: msg.headers.find((h) => h.name === 'message-id')?.value });
}

async function addAttachment(req, res, who, id) {
  const d = draftOf(who, id);
  const raw = await readBody(req);
  let a;
  try { a = JSON.parse(raw.toString('utf8')); } catch {
    throw new GraphError(400, 'BadRequest', 'Unable to read JSON request payload.');
  }
  if (a['@odata.type'] !== '#microsoft.graph.fileAttachment') throw new GraphError(400, 'ErrorInvalidRequest', 'Only fileAttachment here.');
  const data = Buffer.from(a.contentBytes || '', 'base64');
  d.attachments.push({ name: a.name, contentType: a.contentType || 'application/octet-stream', data });
  send(res, 201, { id: `att${d.attachments.length}`, name: a.name, size: data.length });
}

async function createUploadSession(req, res, who, id, base) {
  const d = draftOf(who, id);
  const raw = await readBody(req);
  let item;
  try { item = JSON.parse(raw.toString('utf8')).attachmentItem; } catch { /* below */ }
  if (!item || item.attachmentType !== 'file' || !item.name || !(item.size > 0)) {
    throw new GraphError(400, 'ErrorInvalidRequest', 'attachmentItem with attachmentType file, name and size is required.');
  }
  if (item.size > MAX_MESSAGE) throw new GraphError(413, 'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize', 'Attachment too large.');
  const sid = crypto.randomBytes(16).toString('hex');
  const file = path.join(opt.maildir, 'drafts', `${id}.${sid}`);
  fs.writeFileSync(file, '');
  sessions.set(sid, { draftId: id, item, file, received: 0 });
  send(res, 201, {
    '@odata.context': `${base}/$metadata#microsoft.graph.uploadSession`,
    uploadUrl: `${base.replace(/\/v1\.0$/, '')}/upload/${sid}?authtoken=${crypto.randomBytes(8).toString('hex')}`,
    expirationDateTime: new Date(Date.now() + 3600_000).toISOString(),
    nextExpectedRanges: ['0-'],
  });
  void d;
}

async function uploadRange(req, res, sid) {
  const s = sessions.get(sid);
  if (!s) throw new GraphError(404, 'ErrorItemNotFound', 'The upload session was not found.');
  if (req.headers.authorization) {
    // uploadUrl is pre-authenticated; Graph's docs: do not send Authorization there.
    throw new GraphError(401, 'InvalidAuthenticationToken', 'Authorization header is not allowed on the upload URL.');
  }
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(req.headers['content-range'] || '');
  if (!m) throw new GraphError(400, 'InvalidContentRange', 'Content-Range is required.');
  const [first, last, total] = m.slice(1).map(Number);
  if (total !== s.item.size || first !== s.received || last < first || last >= total) {
    throw new GraphError(416, 'InvalidRange', `Expected range ${s.received}-.`);
  }
  const data = await readBody(req);
  if (data.length !== last - first + 1) throw new GraphError(400, 'InvalidContentRange', 'Body length does not match Content-Range.');
  fs.appendFileSync(s.file, data);
  s.received += data.length;
  stats.uploadPuts += 1;
  if (s.received < total) {
    send(res, 200, { expirationDateTime: new Date(Date.now() + 3600_000).toISOString(), nextExpectedRanges: [`${s.received}-`] });
    return;
  }
  const d = drafts.get(s.draftId);
  sessions.delete(sid);
  if (!d) { fs.rmSync(s.file, { force: true }); throw new GraphError(404, 'ErrorItemNotFound', 'The draft is gone.'); }
  d.attachments.push({ name: s.item.name, contentType: s.item.contentType || 'application/octet-stream', file: s.file });
  send(res, 201, undefined, { location: `/messages('${d.id}')/attachments('att${d.attachments.length}')` });
}

async function sendDraft(req, res, who, id) {
  const d = draftOf(who, id);
  await readBody(req);
  if ([...sessions.values()].some((s) => s.draftId === id)) {
    throw new GraphError(400, 'ErrorInvalidRequest', 'An attachment upload is still under way.');
  }
  if (!headerRecipients(d.msg.headers).length) throw new GraphError(400, 'ErrorInvalidRecipients', 'No recipients.');
  await deliverRebuilt({ via: 'draft', who, msg: d.msg, files: d.attachments, save: true });
  removeDraft(id);
  stats.sent += 1;
  send(res, 202);
}

// ---- routing ------------------------------------------------------------------------

let server;
let requestCount = 0;

// Every Nth request counted (all of them, or those of throttle.mailbox only,
// so that tests running beside each other on one peer do not throttle each
// other) is refused with 429 or 503 and Retry-After.
async function throttleEveryNth(req) {
  requestCount += 1;
  if (throttle.every > 0 && requestCount % throttle.every === 0) {
    stats.throttled += 1;
    await readBody(req).catch(() => {});
    throw new GraphError(throttle.status, throttle.status === 429 ? 'ApplicationThrottled' : 'ServiceUnavailable',
      'Application is over its MailboxConcurrency limit.', { 'retry-after': String(throttle.retryAfter) });
  }
}

async function route(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const base = `http://${opt.host}:${server.address().port}/v1.0`;
  const p = url.pathname;

  if (p.startsWith('/_test/')) {
    if (p === '/_test/stats') return send(res, 200, { ...stats, drafts: drafts.size, draftsCreated: stats.drafts, sessions: sessions.size });
    if (p === '/_test/drafts') return send(res, 200, [...drafts.values()].map((d) => ({
      id: d.id, mailbox: d.mailbox, subject: d.msg.headers.find((h) => h.name === 'subject')?.value ?? '',
      // Upload progress, so that a test can act in the middle of it.
      sessions: [...sessions.values()].filter((s) => s.draftId === d.id)
        .map((s) => ({ name: s.item.name, size: s.item.size, received: s.received })),
      attachments: d.attachments.length,
    })));
    if (p === '/_test/throttle' && req.method === 'POST') {
      throttle.every = Number(url.searchParams.get('every') || 0);
      throttle.retryAfter = Number(url.searchParams.get('retryAfter') || 1);
      throttle.status = Number(url.searchParams.get('status') || 429);
      throttle.mailbox = (url.searchParams.get('mailbox') || '').toLowerCase();
      requestCount = 0;
      return send(res, 200, throttle);
    }
    if (p === '/_test/reset' && req.method === 'POST') {
      for (const k of Object.keys(stats)) stats[k] = 0;
      requestCount = 0;
      return send(res, 200, {});
    }
    throw new GraphError(404, 'NotFound', 'No such test route.');
  }

  stats.requests += 1;
  if (!throttle.mailbox) await throttleEveryNth(req);

  const up = /^\/upload\/([0-9a-f]+)$/.exec(p);
  if (up && req.method === 'PUT') return uploadRange(req, res, up[1]);

  const m = /^\/v1\.0\/(?:users\/([^/]+)|me)(\/.*)$/.exec(p);
  if (!m) throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${p}'.`);
  const rest = m[2];
  const isSend = rest === '/sendMail' || rest === '/sendmail';
  const need = isSend ? 'mail.send' : 'mail.readwrite';
  let user = m[1] ? decodeURIComponent(m[1]) : undefined;
  if (!user) {
    const t = /^Bearer (\S+)$/.exec(req.headers.authorization || '');
    const info = t ? await introspect(t[1]) : {};
    user = info.email || info.sub || '';
    if (!user) throw new GraphError(400, 'BadRequest', '/me request is only valid with delegated authentication flow.');
  }
  const who = await authorize(req, user, need);

  const mailbox = who.mailbox;
  if (throttle.mailbox === mailbox) await throttleEveryNth(req);
  const now = (active.get(mailbox) || 0) + 1;
  if (now > MAX_CONCURRENT) {
    stats.concurrencyRefused += 1;
    throw new GraphError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.',
      { 'retry-after': String(throttle.retryAfter) });
  }
  active.set(mailbox, now);
  stats.maxConcurrent = Math.max(stats.maxConcurrent, now);
  try {
    if (isSend && req.method === 'POST') return await sendMail(req, res, who);
    if (rest === '/messages' && req.method === 'POST') return await createDraft(req, res, who);
    let mm = /^\/messages\/([^/]+)$/.exec(rest);
    if (mm && req.method === 'DELETE') {
      draftOf(who, mm[1]);
      removeDraft(mm[1]);
      stats.deleted += 1;
      return send(res, 204);
    }
    if (mm && req.method === 'GET') {
      const d = draftOf(who, mm[1]);
      return send(res, 200, { id: d.id, isDraft: true, attachments: d.attachments.length });
    }
    mm = /^\/messages\/([^/]+)\/attachments$/.exec(rest);
    if (mm && req.method === 'POST') return await addAttachment(req, res, who, mm[1]);
    mm = /^\/messages\/([^/]+)\/attachments\/createUploadSession$/.exec(rest);
    if (mm && req.method === 'POST') return await createUploadSession(req, res, who, mm[1], base);
    mm = /^\/messages\/([^/]+)\/send$/.exec(rest);
    if (mm && req.method === 'POST') return await sendDraft(req, res, who, mm[1]);
    throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${rest}'.`);
  } finally {
    active.set(mailbox, active.get(mailbox) - 1);
  }
}

server = http.createServer((req, res) => {
  route(req, res).catch(async (e) => {
    if (!(e instanceof GraphError)) {
      console.error('graph.mjs error:', e);
      e = new GraphError(500, 'InternalServerError', 'Internal error.');
    }
    if (res.headersSent) return res.destroy();
    // Refused before its body was read (a bad token, say): read what the
    // client is still sending first, as a server that answers after the
    // upload does, or a client in the middle of it sees a reset instead.
    if (!req.complete && !req.destroyed) {
      req.resume();
      await once(req, 'end').catch(() => {});
    }
    if (!req.complete) res.setHeader('connection', 'close');
    return sendError(res, e);
  });
});
server.keepAliveTimeout = 30_000;
server.listen(Number(opt.port), opt.host, () => {
  const { port } = server.address();
  process.stdout.write(`${JSON.stringify({ port, endpoint: `http://${opt.host}:${port}/v1.0` })}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
