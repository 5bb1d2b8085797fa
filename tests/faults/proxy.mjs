#!/usr/bin/env node
// A fault-injecting SMTP proxy for the fault matrix (tests/faults): it sits
// between postbridge and the real SMTP server (tests/peers/smtp.mjs) and
// breaks the exchange at a chosen point, so that each fault hits a real
// protocol exchange. STARTTLS is carried through, terminated on both sides
// (the client trusts the peers' test CA, whose server certificate the proxy
// presents), so the proxy sees every command and reply in the clear.
//
//   node proxy.mjs --target-port N --cert server.pem --key server.key
//                  --fault FAULT [--port 0]
//
// FAULT is one of:
//   pass              forward everything (the control cell)
//   refuse            nothing listens: the port it prints is closed again
//   silent            accept, and never say a word (a greeting that never comes)
//   after:EHLO        let the command and its reply through, then cut both
//   after:STARTTLS    ...after the TLS handshake with the client, before the
//                     next command reaches the server
//   after:AUTH, after:MAIL, after:RCPT
//   during:DATA       cut after the first 1000 bytes of the message
//   after:DOT         the final dot reaches the server and it answers, but the
//                     answer never reaches the client: the message is
//                     delivered and the client cannot know
//   hold:DATA         after the first 1000 bytes of the message, stop reading
//                     from the client and print "holding": the client is
//                     caught mid-message, for a test to kill it (or the
//                     server behind) there
// Prints {"port":N} once listening; runs until killed.
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    'target-port': { type: 'string' },
    'target-host': { type: 'string', default: '127.0.0.1' },
    cert: { type: 'string' },
    key: { type: 'string' },
    fault: { type: 'string', default: 'pass' },
    port: { type: 'string', default: '0' },
  },
});

const fault = opt.fault;
const [when, command] = fault.includes(':') ? fault.split(':') : [fault, ''];
const known = ['pass', 'refuse', 'silent', 'after:EHLO', 'after:STARTTLS', 'after:AUTH',
  'after:MAIL', 'after:RCPT', 'during:DATA', 'after:DOT', 'hold:DATA'];
if (!known.includes(fault)) {
  console.error(`proxy.mjs: unknown fault '${fault}' (one of ${known.join(', ')})`);
  process.exit(2);
}
const identity = { key: fs.readFileSync(opt.key), cert: fs.readFileSync(opt.cert) };

if (fault === 'refuse') {
  // A port that was free a moment ago and has nothing on it now.
  const probe = net.createServer();
  probe.listen(0, '127.0.0.1', () => {
    const { port } = probe.address();
    probe.close(() => {
      console.log(JSON.stringify({ port }));
      setInterval(() => {}, 1 << 30);
    });
  });
} else {
  const server = net.createServer((client) => (fault === 'silent' ? hold(client) : relay(client)));
  server.listen(Number(opt.port), '127.0.0.1', () =>
    console.log(JSON.stringify({ port: server.address().port })));
}

function hold(client) {
  client.on('error', () => {});
  client.on('data', () => {});  // read and ignore: no greeting, ever
}

// One client connection: the client side and the server side, each read as
// lines while they speak SMTP, the commands queued in order so each reply
// is matched to the command it answers (PIPELINING sends several at once).
function relay(plainClient) {
  let client = plainClient;
  let upstream = net.connect(Number(opt['target-port']), opt['target-host']);
  let inData = false;        // between 354 and the final dot: message bytes
  let dataBytes = 0;
  let clientBuf = Buffer.alloc(0);
  let serverBuf = Buffer.alloc(0);
  const pending = [];        // commands sent upstream, awaiting their reply
  let cut = false;
  let held = false;          // hold:DATA: the client is no longer read

  const end = () => {
    if (cut) return;
    cut = true;
    client.destroy();
    upstream.destroy();
  };
  const onError = () => end();

  const onClientData = (chunk) => {
    if (cut || held) return;
    clientBuf = Buffer.concat([clientBuf, chunk]);
    for (;;) {
      if (inData) {
        const endAt = clientBuf.indexOf('\r\n.\r\n');
        const upto = endAt < 0 ? clientBuf.length : endAt + 5;
        let part = clientBuf.subarray(0, upto);
        if (fault === 'during:DATA' && dataBytes + part.length >= 1000) {
          upstream.write(part.subarray(0, Math.max(0, 1000 - dataBytes)));
          end();
          return;
        }
        if (fault === 'hold:DATA' && dataBytes + part.length >= 1000) {
          upstream.write(part.subarray(0, Math.max(0, 1000 - dataBytes)));
          held = true;
          client.pause();
          console.log('holding');
          return;
        }
        dataBytes += part.length;
        upstream.write(part);
        clientBuf = clientBuf.subarray(upto);
        if (endAt < 0) return;
        inData = false;
        pending.push('DOT');
        continue;
      }
      const eol = clientBuf.indexOf('\r\n');
      if (eol < 0) return;
      const line = clientBuf.subarray(0, eol + 2);
      clientBuf = clientBuf.subarray(eol + 2);
      const verb = line.toString('latin1').split(/[ \r]/)[0].toUpperCase();
      pending.push(verb);
      upstream.write(line);
      // The client waits for the 220 before its TLS handshake: nothing more
      // comes in the clear.
      if (verb === 'STARTTLS') return;
    }
  };

  const onServerData = (chunk) => {
    if (cut) return;
    serverBuf = Buffer.concat([serverBuf, chunk]);
    for (;;) {
      const eol = serverBuf.indexOf('\r\n');
      if (eol < 0) return;
      const line = serverBuf.subarray(0, eol + 2);
      serverBuf = serverBuf.subarray(eol + 2);
      const text = line.toString('latin1');
      const last = text.length < 4 || text[3] !== '-';
      if (!last) {
        client.write(line);
        continue;
      }
      const answered = pending.length > 0 ? pending.shift() : 'GREETING';
      if (answered === 'DATA' && text.startsWith('354')) inData = true;
      if (answered === 'DOT' && when === 'after' && command === 'DOT') {
        end();  // delivered upstream; the client never hears it
        return;
      }
      client.write(line);
      if (answered === 'STARTTLS' && text.startsWith('220')) {
        upgrade();
        return;
      }
      if (when === 'after' && answered === command) {
        end();
        return;
      }
    }
  };

  // STARTTLS: the client's side becomes a TLS server with the test
  // certificate, the server's side a TLS client; then the same reading goes on.
  const upgrade = () => {
    upstream.removeListener('data', onServerData);
    client.removeListener('data', onClientData);
    const secureClient = new tls.TLSSocket(client, { isServer: true, ...identity });
    client = secureClient;
    secureClient.on('error', onError);
    secureClient.on('close', end);
    if (fault === 'after:STARTTLS') {
      secureClient.once('secure', () => end());
      return;
    }
    // The upstream server's certificate is the same test one; the proxy is
    // on loopback and checks nothing of it (the client checks the proxy's).
    const secureUp = tls.connect({ socket: upstream, rejectUnauthorized: false });
    upstream = secureUp;
    secureUp.on('error', onError);
    secureUp.on('close', end);
    secureUp.once('secureConnect', () => {
      secureUp.on('data', onServerData);
      secureClient.on('data', onClientData);
    });
  };

  client.on('data', onClientData);
  upstream.on('data', onServerData);
  client.on('error', onError);
  upstream.on('error', onError);
  client.on('close', end);
  upstream.on('close', end);
}
