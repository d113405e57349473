// certseal's tests check SM2 signatures and SM3 digests with sm-crypto (the npm package most
// Chinese web front ends use), a second implementation nobody here wrote.
//
// Reads one JSON object on standard input:
//   {"verify": [{"pub": "04…", "msg": "<hex>", "sig": "<DER hex>"}…],
//    "sm3":    ["<hex>"…],
//    "sign":   [{"priv": "<hex>", "pub": "04…", "msg": "<hex>"}…]}
// and writes {"verify": [true|false…], "sm3": ["<hex digest>"…], "sign": ["<DER hex>"…]}.
// Signatures are SM2 with SM3 over Z || message, Z with the default user ID 1234567812345678.
'use strict';
const { sm2, sm3 } = require('sm-crypto');

const bytes = (h) => Array.from(Buffer.from(h, 'hex'));

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const req = JSON.parse(input);
  const out = {
    verify: (req.verify || []).map((c) => sm2.doVerifySignature(bytes(c.msg), c.sig, c.pub, { der: true, hash: true })),
    sm3: (req.sm3 || []).map((m) => sm3(bytes(m))),
    sign: (req.sign || []).map((c) => sm2.doSignature(bytes(c.msg), c.priv, { der: true, hash: true, publicKey: c.pub })),
  };
  process.stdout.write(JSON.stringify(out));
});
