#!/usr/bin/env node
// A real SMTP submission server (npm smtp-server) for postbridge's tests.
// XOAUTH2 bearer tokens are checked at the authorization server's
// introspection endpoint, as a mail service would; every accepted message
// lands in a maildir so a test can read it back.
//
//   node smtp.mjs --issuer URL --maildir DIR --cert server.pem --key server.key
//                 [--port 0] [--tls-port N] [--host 127.0.0.1]
//                 [--gmail-style] [--size BYTES] [--reject-prefix reject]
//                 [--auth-disabled]
//   node smtp.mjs --plain --maildir DIR [--port 0]     (sink: no TLS, no AUTH)
// Prints {"port":..,"tlsPort":..} once listening. --tls-port adds an
// implicit-TLS listener (the "SSL/TLS" setting, port 465 style).
//
// Maildir: new/NAME is the message exactly as received (after the
// dot-unstuffing of DATA); new/NAME.envelope.json is its envelope, written
// before the message appears. Readers must skip *.envelope.json.
//
// AUTH: XOAUTH2 (token active, a Bearer access token, scope smtp.send, and
// sub/email/username equal to user= ; an app token from client credentials
// carries no user and may send as anyone), PLAIN/LOGIN device/device-pass.
// Recipients whose local part starts with the reject prefix get 550 5.1.1.
// --auth-disabled stands for an Exchange Online tenant or mailbox with SMTP
// AUTH off: every AUTH gets 535 5.7.139, as Microsoft answers.
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { SMTPServer } from 'smtp-server';

console.log = console.info = console.error; // stdout is for the JSON line only

const { values: opt } = parseArgs({
  options: {
    issuer: { type: 'string', default: process.env.PB_OIDC_ISSUER },
    maildir: { type: 'string', default: process.env.PB_MAILDIR },
    cert: { type: 'string' },
    key: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'tls-port': { type: 'string' },
    plain: { type: 'boolean', default: false },
    'gmail-style': { type: 'boolean', default: process.env.PB_SMTP_GMAIL_STYLE === '1' },
    size: { type: 'string', default: process.env.PB_SMTP_SIZE || String(50 * 1024 * 1024) },
    'reject-prefix': { type: 'string', default: process.env.PB_SMTP_REJECT_PREFIX ?? 'reject' },
    'auth-disabled': { type: 'boolean', default: false },
    // Offers DSN (RFC 3461); the envelope sidecar then has its NOTIFY and
    // RET in rcptToArgs and mailFromArgs.
    dsn: { type: 'boolean', default: false },
  },
});
const die = (msg) => { console.error(`smtp.mjs: ${msg}`); process.exit(2); };
if (!opt.maildir) die('--maildir (or PB_MAILDIR) is required');
if (!opt.plain && !(opt.issuer && opt.cert && opt.key)) die('--issuer, --cert and --key are required');
for (const sub of ['tmp', 'new', 'cur']) fs.mkdirSync(path.join(opt.maildir, sub), { recursive: true });

let introspectionEndpoint;
async function introspect(token) {
  introspectionEndpoint ??= (await (await fetch(`${opt.issuer}/.well-known/openid-configuration`)).json())
    .introspection_endpoint;
  const res = await fetch(introspectionEndpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('smtp-server:introspect-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
  });
  if (!res.ok) throw new Error(`introspection HTTP ${res.status}`);
  return res.json();
}

const smtpError = (code, message) => Object.assign(new Error(message), { responseCode: code });

async function checkBearer(user, token) {
  const t = await introspect(token);
  if (!t.active || t.token_type !== 'Bearer') return undefined;
  if (!(t.scope || '').split(' ').includes('smtp.send')) return undefined;
  if (!t.sub) return t.client_id; // client credentials: the app itself
  const names = [t.sub, t.email, t.username].filter(Boolean).map((n) => n.toLowerCase());
  return names.includes(user.toLowerCase()) ? (t.email || t.sub) : undefined;
}

function onAuth(auth, session, callback) {
  if (opt['auth-disabled']) {
    return callback(smtpError(535, '5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.'));
  }
  if (auth.method === 'XOAUTH2') {
    checkBearer(auth.username, auth.accessToken).then((user) => {
      if (user) return callback(null, { user });
      if (opt['gmail-style']) {
        // Gmail: 334 with a base64 JSON error; the 535 follows the client's empty line.
        return callback(null, { data: { status: '400', schemes: 'Bearer', scope: 'smtp.send' } });
      }
      return callback(smtpError(535, 'Authentication unsuccessful: invalid or expired token'));
    }, (err) => {
      console.error('introspection failed:', err);
      callback(smtpError(454, 'Temporary authentication failure'));
    });
    return;
  }
  if (auth.username === 'device' && auth.password === 'device-pass') return callback(null, { user: 'device' });
  return callback(smtpError(535, 'Authentication credentials invalid'));
}

function onRcptTo(address, session, callback) {
  const local = address.address.split('@')[0].toLowerCase();
  if (opt['reject-prefix'] && local.startsWith(opt['reject-prefix'].toLowerCase())) {
    return callback(smtpError(550, `Recipient <${address.address}> does not exist here`));
  }
  return callback();
}

let seq = 0;
async function deliver(stream, session) {
  const name = `${Date.now()}.${process.pid}_${(seq += 1)}.localhost`;
  const tmp = path.join(opt.maildir, 'tmp', name);
  await pipeline(stream, fs.createWriteStream(tmp));
  if (stream.sizeExceeded) {
    fs.rmSync(tmp, { force: true });
    throw smtpError(552, 'Message exceeds fixed maximum message size');
  }
  const { envelope } = session;
  const sidecar = {
    message: name,
    mailFrom: envelope.mailFrom ? envelope.mailFrom.address : null,
    mailFromArgs: envelope.mailFrom ? envelope.mailFrom.args : null,
    rcptTo: envelope.rcptTo.map((r) => r.address),
    rcptToArgs: envelope.rcptTo.map((r) => r.args),
    user: session.user ?? null,
    secure: Boolean(session.secure),
    transmissionType: session.transmissionType,
    clientHostname: session.hostNameAppearsAs,
    remoteAddress: session.remoteAddress,
    // The connection it came over: tests see connection reuse by it.
    sessionId: session.id,
    size: fs.statSync(tmp).size,
    receivedAt: new Date().toISOString(),
  };
  const newDir = path.join(opt.maildir, 'new');
  fs.writeFileSync(`${tmp}.envelope.json`, `${JSON.stringify(sidecar, null, 2)}\n`);
  fs.renameSync(`${tmp}.envelope.json`, path.join(newDir, `${name}.envelope.json`));
  fs.renameSync(tmp, path.join(newDir, name));
  return name;
}

function onData(stream, session, callback) {
  deliver(stream, session).then((name) => callback(null, `Queued as ${name}`), (err) => {
    if (!err.responseCode) console.error('delivery failed:', err);
    callback(err.responseCode ? err : smtpError(451, 'Local error in processing'));
  });
}

function makeServer(secure) {
  const tls = opt.plain ? {} : { key: fs.readFileSync(opt.key), cert: fs.readFileSync(opt.cert) };
  return new SMTPServer({
    ...tls,
    secure,
    name: 'localhost',
    banner: 'postbridge test submission server',
    logger: true,
    disableReverseLookup: true, // a PTR query would leave loopback
    // Exchange Online and Gmail both use them. smtp-server puts its own
    // (5.7.8 for a 535) before any text, so the SMTP-AUTH-off stand-in
    // leaves them to its one reply, which carries Exchange's 5.7.139.
    hideENHANCEDSTATUSCODES: opt['auth-disabled'],
    hideDSN: !opt.dsn,
    size: Number(opt.size),
    authMethods: ['XOAUTH2', 'PLAIN', 'LOGIN'],
    allowInsecureAuth: false,
    authOptional: opt.plain,
    disabledCommands: opt.plain ? ['AUTH', 'STARTTLS'] : [],
    onAuth,
    onRcptTo,
    onData,
  });
}

const listen = (server, port) => new Promise((resolve, reject) => {
  server.on('error', (err) => console.error('smtp error:', err.message));
  server.server.once('error', reject);
  server.listen(Number(port), opt.host, () => resolve(server.server.address().port));
});

const out = { port: await listen(makeServer(false), opt.port) };
if (opt['tls-port'] !== undefined && !opt.plain) out.tlsPort = await listen(makeServer(true), opt['tls-port']);
process.stdout.write(`${JSON.stringify(out)}\n`);

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
