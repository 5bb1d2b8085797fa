#!/usr/bin/env node
// A fault-injecting HTTP proxy in front of the real OAuth server
// (tests/peers/oidc.mjs) for the fault matrix (tests/faults). postbridge's
// profile names the proxy as its issuer: the proxy forwards every request
// and writes its own address for the server's in what comes back (the
// discovery document's issuer and endpoints, Location), so that all of
// postbridge's requests pass through it while the tokens stay the real
// server's, checked by the real SMTP server.
//
//   node idp_proxy.mjs --target http://127.0.0.1:N --fault FAULT [--port 0]
//
// It starts passing everything, so that a sign-in goes through. SIGUSR1
// arms FAULT, SIGUSR2 disarms it; each is acknowledged on stdout with a line
// ("armed" / "disarmed") once it holds, so the test waits for it instead
// of for time.
//
// FAULT is one of:
//   refuse         the port is closed (and open connections cut): every
//                  request fails to connect
//   silent         every request is read and never answered
//   500            the token endpoint answers 500 with a plain-text page
//   html           the token endpoint answers 200 with an HTML page (a
//                  captive portal or a load balancer's error page)
//   invalid_grant  the token endpoint answers 400 invalid_grant (RFC 6749
//                  5.2), as when the grant was revoked
// A down server (refuse, silent) is down for discovery too; the answers
// are the token endpoint's, which a refresh meets.
// Prints {"port":N,"issuer":URL} once listening; runs until killed.
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    target: { type: 'string' },
    fault: { type: 'string' },
    port: { type: 'string', default: '0' },
  },
});
const known = ['refuse', 'silent', '500', 'html', 'invalid_grant'];
if (!known.includes(opt.fault) || !opt.target) {
  console.error(`idp_proxy.mjs: --target URL and --fault (one of ${known.join(', ')}) are needed`);
  process.exit(2);
}
const target = new URL(opt.target);
let armed = false;
let self = '';  // http://127.0.0.1:PORT once listening
const sockets = new Set();

let server = null;

// A new listener each time: a closed one is not opened again.
function listen(port, done) {
  server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => answer(req, res, Buffer.concat(chunks)));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('error', (e) => {
    console.error(`idp_proxy.mjs: ${e.message}`);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', done);
}

function answer(req, res, body) {
  if (armed && opt.fault === 'silent') return;  // held until the client gives up
  if (armed && req.method === 'POST' && req.url.startsWith('/token')) {
    if (opt.fault === '500') {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('Internal Server Error\n');
      return;
    }
    if (opt.fault === 'html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!DOCTYPE html><html><body><h1>Service temporarily unavailable</h1></body></html>\n');
      return;
    }
    if (opt.fault === 'invalid_grant') {
      res.writeHead(400, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'grant request is invalid' }));
      return;
    }
  }
  forward(req, res, body);
}

// The request as it came, to the real server; the answer with the real
// server's address written as ours.
function forward(req, res, body) {
  const headers = { ...req.headers, host: target.host, 'accept-encoding': 'identity' };
  const up = http.request({ host: target.hostname, port: target.port, method: req.method,
    path: req.url, headers }, (upRes) => {
    const parts = [];
    upRes.on('data', (c) => parts.push(c));
    upRes.on('end', () => {
      const text = Buffer.concat(parts).toString('utf8').split(target.origin).join(self);
      const out = { ...upRes.headers };
      delete out['transfer-encoding'];
      delete out['content-length'];
      if (out.location) out.location = out.location.split(target.origin).join(self);
      out['content-length'] = Buffer.byteLength(text);
      res.writeHead(upRes.statusCode, out);
      res.end(text);
    });
  });
  up.on('error', () => { res.writeHead(502); res.end(); });
  up.end(body);
}

// Signal handlers do not keep a process alive; with the port shut (refuse)
// nothing else would.
setInterval(() => {}, 1 << 30);

process.on('SIGUSR1', () => {
  armed = true;
  if (opt.fault !== 'refuse') return console.log('armed');
  // The ack once the port is shut and every connection with it.
  server.close(() => console.log('armed'));
  for (const s of sockets) s.destroy();
});
process.on('SIGUSR2', () => {
  const wasRefusing = armed && opt.fault === 'refuse';
  armed = false;
  if (!wasRefusing) return console.log('disarmed');
  listen(Number(new URL(self).port), () => console.log('disarmed'));
});

listen(Number(opt.port), () => {
  const { port } = server.address();
  self = `http://127.0.0.1:${port}`;
  console.log(JSON.stringify({ port, issuer: self }));
});
