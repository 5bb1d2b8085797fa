#!/usr/bin/env node
// The scripted person in front of a browser: drives oidc-provider's
// devInteractions pages with plain HTTP and a cookie jar, as a user would.
//
//   node user.mjs approve --issuer URL --code USER_CODE [--login alice]
//   node user.mjs deny    --issuer URL --code USER_CODE
//   node user.mjs authorize --url AUTHORIZE_URL [--login alice] [--deny]
//       prints the final redirect (the client's loopback callback with
//       code/state, or error=access_denied) without following it.
//
// Exit 0 on success; otherwise non-zero with the page's text on stderr.
import { parseArgs } from 'node:util';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    issuer: { type: 'string' },
    code: { type: 'string' },
    url: { type: 'string' },
    login: { type: 'string', default: 'alice' },
    password: { type: 'string', default: 'any-password' },
    deny: { type: 'boolean', default: false },
  },
});
const action = positionals[0];

function fail(msg, html) {
  const text = (html || '')
    .replace(/<(style|script)[^>]*>[\s\S]*?<\/\1>/gi, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  console.error(`user.mjs: ${msg}${text ? `\npage: ${text.slice(0, 2000)}` : ''}`);
  process.exit(1);
}

const jar = new Map();
const attr = (tag, name) => tag.match(new RegExp(`\\b${name}="([^"]*)"`, 'i'))?.[1];
const unescape = (s) => s?.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<')
  .replace(/&gt;/g, '>').replace(/&amp;/g, '&');

// One HTTP request, no redirect following; remembers cookies.
async function request(url, form) {
  const headers = { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') };
  let body;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const res = await fetch(url, { method: form ? 'POST' : 'GET', headers, body, redirect: 'manual' });
  for (const c of res.headers.getSetCookie()) {
    const [pair, ...attrs] = c.split(';');
    const [name, ...rest] = pair.split('=');
    const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || rest.join('=') === '';
    if (expired) jar.delete(name.trim()); else jar.set(name.trim(), rest.join('='));
  }
  const location = res.headers.get('location');
  return {
    status: res.status,
    location: location ? new URL(location, url).href : undefined,
    html: await res.text(),
    url,
  };
}

// The forms of a page: action (absolute), id, and the named inputs' values.
function forms(page) {
  return [...page.html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map(([, tag, inner]) => {
    const fields = {};
    for (const [input] of inner.matchAll(/<input\b[^>]*>/gi)) {
      const name = attr(input, 'name');
      if (name) fields[name] = unescape(attr(input, 'value')) ?? '';
    }
    return { id: attr(tag, 'id'), action: new URL(unescape(attr(tag, 'action')) || page.url, page.url).href, fields };
  });
}

// Follows redirects inside the issuer's origin; stops at one leaving it.
async function go(page, origin) {
  let p = page;
  for (let hops = 0; p.location; hops += 1) {
    if (hops > 20) fail('too many redirects');
    if (new URL(p.location).origin !== origin) return p;
    p = await request(p.location);
  }
  return p;
}

// Submits the login and consent pages until something else shows up.
async function signIn(page, origin) {
  let p = await go(page, origin);
  for (let steps = 0; steps < 10 && !p.location; steps += 1) {
    const form = forms(p).find((f) => f.fields.prompt === 'login' || f.fields.prompt === 'consent');
    if (!form) return p;
    if (form.fields.prompt === 'login') Object.assign(form.fields, { login: opt.login, password: opt.password });
    p = await go(await request(form.action, form.fields), origin);
  }
  return p;
}

async function device(approve) {
  if (!opt.issuer || !opt.code) fail('--issuer and --code are required');
  const origin = new URL(opt.issuer).origin;
  let p = await go(await request(`${opt.issuer.replace(/\/$/, '')}/device`), origin);
  const input = forms(p).find((f) => f.id === 'op.deviceInputForm');
  if (!input) fail(`no code entry form at ${p.url} (HTTP ${p.status})`, p.html);
  p = await go(await request(input.action, { ...input.fields, user_code: opt.code }), origin);
  const confirm = forms(p).find((f) => f.id === 'op.deviceConfirmForm');
  if (!confirm) fail(`code ${opt.code} was not accepted (HTTP ${p.status})`, p.html);
  const fields = approve ? confirm.fields : { ...confirm.fields, abort: 'yes' };
  p = await request(confirm.action, fields);
  p = approve ? await signIn(p, origin) : await go(p, origin);
  if (approve && /<title>Sign-in Success<\/title>/.test(p.html)) {
    console.log(`user.mjs: approved ${opt.code} as ${opt.login}`);
  } else if (!approve && /interrupted|aborted/i.test(p.html)) {
    console.log(`user.mjs: denied ${opt.code}`);
  } else {
    fail(`unexpected page after ${approve ? 'approving' : 'denying'} (HTTP ${p.status})`, p.html);
  }
}

async function authorize() {
  if (!opt.url) fail('--url is required');
  const { origin } = new URL(opt.url);
  let p = await go(await request(opt.url), origin);
  if (opt.deny && !p.location) {
    const abort = p.html.match(/href="([^"]*\/abort)"/)?.[1];
    if (!abort) fail(`no cancel link at ${p.url} (HTTP ${p.status})`, p.html);
    p = await go(await request(new URL(unescape(abort), p.url).href), origin);
  } else {
    p = await signIn(p, origin);
  }
  if (!p.location) fail(`no redirect back to the client (HTTP ${p.status} at ${p.url})`, p.html);
  console.log(p.location);
}

try {
  if (action === 'approve' || action === 'deny') await device(action === 'approve');
  else if (action === 'authorize') await authorize();
  else fail('usage: user.mjs approve|deny --issuer URL --code CODE [--login L] | authorize --url URL [--login L] [--deny]');
} catch (e) {
  fail(e.stack || String(e));
}
