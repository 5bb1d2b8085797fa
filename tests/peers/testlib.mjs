// Helpers for tests that use the peers: the device side of OAuth flows (the
// user side is user.mjs), and reading the maildirs that smtp.mjs writes.
// Addresses come from the environment (with-peers.sh exports peers.env), or
// from the file named by PB_PEERS_ENV.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const PEERS_DIR = path.dirname(fileURLToPath(import.meta.url));
// Debian's own python3 when present: a version-manager shim costs ~0.4 s a call.
export const PYTHON = process.env.PB_PYTHON
  || (fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const run = promisify(execFile);

export function peersEnv() {
  const env = { ...process.env };
  if (process.env.PB_PEERS_ENV) {
    for (const line of fs.readFileSync(process.env.PB_PEERS_ENV, 'utf8').split('\n')) {
      const m = line.match(/^([A-Z0-9_]+)=(.*)$/);
      if (m) env[m[1]] = m[2].startsWith("'") ? m[2].slice(1, -1).replace(/'\\''/g, "'") : m[2];
    }
  }
  if (!env.PB_OIDC_ISSUER) throw new Error('PB_OIDC_ISSUER unset: run under with-peers.sh or set PB_PEERS_ENV');
  return env;
}

const discovered = new Map();
export async function discover(issuer) {
  if (!discovered.has(issuer)) {
    const res = await fetch(`${issuer}/.well-known/openid-configuration`);
    if (!res.ok) throw new Error(`discovery: HTTP ${res.status}`);
    discovered.set(issuer, await res.json());
  }
  return discovered.get(issuer);
}

// POSTs a form; returns { status, body } (body parsed as JSON when it is).
export async function postForm(url, params, basicAuth) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basicAuth) headers.authorization = `Basic ${Buffer.from(basicAuth.join(':')).toString('base64')}`;
  const res = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(params) });
  const text = await res.text();
  let body = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body };
}

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const DEFAULT_SCOPE = 'openid email profile offline_access smtp.send';

export async function deviceAuthorize(issuer, { clientId = 'postbridge-device', scope = DEFAULT_SCOPE } = {}) {
  const meta = await discover(issuer);
  const r = await postForm(meta.device_authorization_endpoint, { client_id: clientId, scope });
  if (r.status !== 200) throw new Error(`device authorization: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export async function token(issuer, params, basicAuth) {
  return postForm((await discover(issuer)).token_endpoint, params, basicAuth);
}

// Polls the token endpoint as RFC 8628 says; resolves with the final
// { status, body }: tokens, or an error other than authorization_pending.
export async function pollDeviceToken(issuer, da, { clientId = 'postbridge-device', deadlineMs = 30000 } = {}) {
  let interval = (da.interval ?? 5) * 1000;
  const end = Date.now() + deadlineMs;
  for (;;) {
    const r = await token(issuer, { grant_type: DEVICE_GRANT, device_code: da.device_code, client_id: clientId });
    if (r.body?.error === 'slow_down') interval += 5000;
    else if (r.body?.error !== 'authorization_pending') return r;
    if (Date.now() + interval > end) throw new Error('device code still pending at the deadline');
    await new Promise((resolve) => { setTimeout(resolve, interval); });
  }
}

// Runs user.mjs; resolves with { code, stdout, stderr } (never rejects on exit code).
export async function user(...args) {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(PEERS_DIR, 'user.mjs'), ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    if (typeof e.code !== 'number') throw e;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// The whole device flow with the scripted user approving: the token response.
export async function deviceFlowTokens(issuer, { login = 'alice', scope = DEFAULT_SCOPE, clientId } = {}) {
  const da = await deviceAuthorize(issuer, { scope, clientId });
  const u = await user('approve', '--issuer', issuer, '--code', da.user_code, '--login', login);
  if (u.code !== 0) throw new Error(`user.mjs approve failed: ${u.stderr}`);
  const r = await pollDeviceToken(issuer, da, { clientId });
  if (r.status !== 200) throw new Error(`device token: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export async function introspect(issuer, tok) {
  const meta = await discover(issuer);
  const r = await postForm(meta.introspection_endpoint, { token: tok }, ['smtp-server', 'introspect-secret']);
  if (r.status !== 200) throw new Error(`introspection: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export function jwtPayload(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}

// Messages in MAILDIR/new as [{ name, file, envelope }] (envelope from the sidecar).
export function maildirMessages(maildir) {
  const dir = path.join(maildir, 'new');
  return fs.readdirSync(dir).filter((n) => !n.endsWith('.envelope.json') && !n.startsWith('.')).map((name) => ({
    name,
    file: path.join(dir, name),
    envelope: JSON.parse(fs.readFileSync(path.join(dir, `${name}.envelope.json`), 'utf8')),
  }));
}

// Waits (default 10 s) for a message whose text contains `needle`.
export async function waitForMessage(maildir, needle, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    for (const m of maildirMessages(maildir)) {
      const text = fs.readFileSync(m.file, 'utf8');
      if (text.includes(needle)) return { ...m, text };
    }
    if (Date.now() > end) throw new Error(`no message containing ${needle} in ${maildir}`);
    await new Promise((resolve) => { setTimeout(resolve, 100); });
  }
}
