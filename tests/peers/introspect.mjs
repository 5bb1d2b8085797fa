#!/usr/bin/env node
// introspect.mjs: what the test authorization server says of a token (RFC
// 7662), asked as the SMTP servers ask, for tests that check a revocation.
//   node introspect.mjs TOKEN [--issuer URL]
// Prints the introspection answer as JSON ({"active":false} once revoked).
import { parseArgs } from 'node:util';
import { introspect, peersEnv } from './testlib.mjs';

const { values: opt, positionals } = parseArgs({
  options: { issuer: { type: 'string' } },
  allowPositionals: true,
});
if (positionals.length !== 1) {
  console.error('usage: introspect.mjs TOKEN [--issuer URL]');
  process.exit(2);
}
console.log(JSON.stringify(await introspect(opt.issuer || peersEnv().PB_OIDC_ISSUER, positionals[0])));
