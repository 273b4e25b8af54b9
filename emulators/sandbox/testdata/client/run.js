// Runs the npm client khipu-client@1.1.0 unchanged against the sandbox's
// proxy mode. The client hard-codes https://khipu.com:443; the Go test
// TestProxyNodeKhipuClient starts this script as
//
//   node -r global-agent/bootstrap run.js
//
// with GLOBAL_AGENT_HTTP_PROXY=http://127.0.0.1:PORT (the sandbox) and
// NODE_EXTRA_CA_CERTS=ca.pem (the sandbox's CA): nothing else is changed.
// It prints one JSON object per line: the created payment, then the same
// payment read back.
'use strict';

const { Client } = require('khipu-client');

const client = new Client({ receiverId: '123456', secret: 'sbx-khipu-secret-NOT-REAL' });
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

async function main() {
  const created = await client.createPayment({
    subject: 'Pedido 1001 khipu-client', amount: 2500, currency: 'CLP', transaction_id: 'KC-1001',
  });
  out({ step: 'created', payment_id: created.payment_id, payment_url: created.payment_url });
  const got = await client.getPayment({ id: created.payment_id });
  out({ step: 'got', payment_id: got.payment_id, status: got.status, amount: got.amount, subject: got.subject, payment_url: got.payment_url });
}

main().catch((err) => {
  out({ step: 'error', message: String(err && (err.message || err)) });
  process.exit(1);
});
