'use strict';
// The start-up bench's floor for `balance --item X --json` (scripts/bench.ts, "startup"): what a
// one-item balance needs from Node alone, without plaidbal, plaid, axios, commander or chalk.
// It loads Node's `crypto` (to unseal a token), `https` and with it `tls` (production.plaid.com is
// HTTPS) and `zlib` (axios asks for compressed answers), unseals a token with AES-256-GCM, makes
// one JSON POST to /accounts/balance/get with Node's own HTTP client, and prints the answer as
// indented JSON. The Secret Service read is left out. The emulator, the token and the
// credentials come from the environment the bench gives it:
// PLAIDBAL_BASE_URL, FLOOR_CLIENT_ID, FLOOR_SECRET, FLOOR_ACCESS_TOKEN.
const crypto = require('node:crypto');
require('node:https');
require('node:zlib');
const http = require('node:http');

const key = crypto.randomBytes(32);
const iv = crypto.randomBytes(12);
const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
const sealed = Buffer.concat([cipher.update(process.env.FLOOR_ACCESS_TOKEN ?? '', 'utf8'), cipher.final()]);
const decipher = crypto.createDecipheriv('aes-256-gcm', key, iv);
decipher.setAuthTag(cipher.getAuthTag());
const accessToken = Buffer.concat([decipher.update(sealed), decipher.final()]).toString('utf8');

const body = JSON.stringify({ client_id: process.env.FLOOR_CLIENT_ID, secret: process.env.FLOOR_SECRET, access_token: accessToken });
const request = http.request(new URL('/accounts/balance/get', process.env.PLAIDBAL_BASE_URL), {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'plaid-version': '2020-09-14' },
}, (response) => {
  let text = '';
  response.setEncoding('utf8');
  response.on('data', (chunk) => (text += chunk));
  response.on('end', () => {
    const answer = JSON.parse(text);
    if (response.statusCode !== 200 || !Array.isArray(answer.accounts)) {
      process.stderr.write(`floor: HTTP ${response.statusCode}\n`);
      process.exitCode = 1;
    }
    process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
  });
});
request.on('error', (error) => {
  process.stderr.write(`floor: ${error.message}\n`);
  process.exitCode = 1;
});
request.end(body);
