// Create → pay → await callback → verify, against a running sandbox, with
// nothing but Node's standard library (node:test, fetch, node:http, node:crypto).
// Run: SANDBOX_URL=http://127.0.0.1:8080 node --test docs/examples/http/khipu_flow.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';

const base = process.env.SANDBOX_URL ?? 'http://127.0.0.1:8080';
// Admin calls that change state send JSON (a text/plain body is refused: a web
// page could send it cross-site).
const api = (path, init = {}) => fetch(base + '/_sandbox/api' + path, {
  ...init, headers: { 'Content-Type': 'application/json', ...init.headers },
}).then(async (r) => {
  assert.equal(r.status, 200, `${path}: ${r.status} ${await r.clone().text()}`);
  return r.json();
});

test('Khipu 3.0: create, pay, await the notification, verify its signature', async (t) => {
  // The merchant: records what it receives and answers 200.
  const received = [];
  const merchant = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { received.push({ headers: req.headers, body }); res.end('{"ok":true}'); });
  });
  await new Promise((ok) => merchant.listen(0, '127.0.0.1', ok));
  t.after(() => merchant.close());

  // Credentials from the sandbox itself.
  const info = await api('/info');
  const fields = Object.fromEntries(info.providers.find((p) => p.provider === 'khipu')
    .credentials[0].fields.map((f) => [f.name, f.value]));

  const created = await fetch(base + '/khipu/v3/payments', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'x-api-key': fields.api_key },
    body: JSON.stringify({ subject: 'Order 1', currency: 'CLP', amount: 1000, transaction_id: 'NODE-1',
      notify_url: `http://127.0.0.1:${merchant.address().port}/notify`, notify_api_version: '3.0' }),
  });
  assert.equal(created.status, 200);
  const { payment_id: id } = await created.json();

  await api(`/objects/khipu/${id}/actions/pay`, { method: 'POST', body: '{}' });
  const schedule = await api(`/schedule?object=${id}&kind=verification`);
  assert.equal(schedule.scheduled.length, 1, 'the verification is scheduled');
  const advanced = await api('/clock/advance', { method: 'POST', body: '{"by":"1h"}' });
  assert.ok(advanced.fired.some((f) => f.kind === 'verification' && f.object === id));

  const cbs = await api(`/callbacks?object=${id}&min=1&wait=10s`);
  assert.equal(cbs.complete, true);
  assert.equal(cbs.entries[0].callback.outcome, 'acknowledged');
  const paid = await api(`/objects/khipu/${id}?status=done&wait=10s`);
  assert.equal(paid.complete, true);

  // Verify the notification as a merchant must: HMAC-SHA256(secret, t + "." + raw body).
  assert.equal(received.length, 1);
  const sig = Object.fromEntries(received[0].headers['x-khipu-signature'].split(',')
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const want = crypto.createHmac('sha256', fields.secret).update(`${sig.t}.${received[0].body}`).digest('base64');
  assert.equal(sig.s, want);
  assert.equal(JSON.parse(received[0].body).payment_id, id);
});
