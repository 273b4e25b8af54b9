// Drives the real npm Khipu client fi-khipu@0.1.0 against a sandbox started
// by the Go test TestRealClientFiKhipu (conformance check K-CLI-01).
//
// Usage: node run.js <api base, e.g. http://127.0.0.1:PORT/khipu/api/2.0> <notify_url> <return_url>
// Protocol with the Go test: this script prints one JSON object per line
// on stdout; after {"step":"created"} it waits for one line on stdin, the
// notification_token the Go merchant received, then reads the payment by
// token, refunds it, reads it again, and deletes a second payment.
'use strict';

const readline = require('readline');
const khipu = require('fi-khipu');

const [base, notifyURL, returnURL] = process.argv.slice(2);
if (!base || !notifyURL || !returnURL) {
  console.error('usage: node run.js API_BASE NOTIFY_URL RETURN_URL');
  process.exit(2);
}

khipu.configure(123456, 'sbx-khipu-secret-NOT-REAL');
khipu.config.host = base; // the client's host override
khipu.config.addDefaultHeader('X-Sandbox-Scenario', 'cli-robot');

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const fail = (step, err) => {
  out({ step: 'error', at: step, message: err && (err.notice || err.message), code: err && err.code, body: err && err.body });
  process.exit(1);
};
const call = (step, fn, ...args) => new Promise((resolve) => {
  fn.call(khipu, ...args, (err, res) => (err ? fail(step, err) : resolve(res)));
});

async function main() {
  const banks = await call('listBanks', khipu.listBanks);
  out({ step: 'banks', ids: banks.map((b) => b.bank_id) });

  const created = await call('createPayment', khipu.createPayment, {
    subject: 'Prueba fi-khipu (#1)', amount: 1570, transaction_id: 'T-1',
    notify_url: notifyURL, notify_api_version: '1.3', return_url: returnURL, body: 'línea ñ ~*\'',
  });
  out({ step: 'created', payment_id: created.payment_id, payment_url: created.payment_url });

  const token = await new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin });
    rl.once('line', (line) => { rl.close(); resolve(line.trim()); });
  });

  const byToken = await call('getPaymentByNotificationToken', khipu.getPaymentByNotificationToken, token);
  out({ step: 'by_token', payment_id: byToken.payment_id, status: byToken.status, amount: byToken.amount, receiver_id: byToken.receiver_id });

  const refund = await call('refundPayment', khipu.refundPayment, created.payment_id);
  out({ step: 'refunded', message: refund.message });

  const after = await call('getPaymentById', khipu.getPaymentById, created.payment_id);
  out({ step: 'after_refund', status: after.status, status_detail: after.status_detail });

  const second = await call('createPayment', khipu.createPayment, { subject: 'Para borrar', amount: 1000, transaction_id: 'T-2' });
  const deleted = await call('deletePayment', khipu.deletePayment, second.payment_id);
  out({ step: 'deleted', payment_id: second.payment_id, message: deleted.message });
  out({ step: 'done' });
  process.exit(0); // keep-alive sockets and stdin would keep node running
}

main().catch((err) => fail('main', err));
