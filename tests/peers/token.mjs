#!/usr/bin/env node
// token.mjs: a fresh token from the test authorization server through the
// device flow, the scripted user approving (for tests of other programs, e.g.
// msmtp's passwordeval).
//   node token.mjs [--issuer URL] [--login alice] [--scope "..."] [--json]
// Prints the access token (or the whole token response with --json).
import { parseArgs } from 'node:util';
import { DEFAULT_SCOPE, deviceFlowTokens, peersEnv } from './testlib.mjs';

const { values: opt } = parseArgs({
  options: {
    issuer: { type: 'string' },
    login: { type: 'string', default: 'alice' },
    scope: { type: 'string', default: DEFAULT_SCOPE },
    json: { type: 'boolean', default: false },
  },
});
const issuer = opt.issuer || peersEnv().PB_OIDC_ISSUER;
const tokens = await deviceFlowTokens(issuer, { login: opt.login, scope: opt.scope });
console.log(opt.json ? JSON.stringify(tokens) : tokens.access_token);
