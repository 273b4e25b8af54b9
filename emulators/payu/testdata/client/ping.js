// Pings the PayU emulator with the npm client payu-latam-node@0.1.2
// (docs/payu.md conformance check 15). Usage: node ping.js BASE_URL
// where BASE_URL is e.g. http://127.0.0.1:8080. Prints the answer's code.
'use strict';
const base = process.argv[2];
if (!base) {
  console.error('usage: node ping.js BASE_URL');
  process.exit(2);
}
// The client has no URL option: override its test URL before building it.
require('payu-latam-node/lib/constants').payConf.payments.test = base + '/payu/payments-api/4.0/service.cgi';
const payu = require('payu-latam-node')({
  apiKey: '4Vj8eK4rloUd272L48hsrarnUA',
  apiLogin: 'pRRXKOl8ikMmt9u',
  test: true,
});
payu.ping().then((answer) => {
  console.log(answer.code);
  process.exit(answer.code === 'SUCCESS' ? 0 : 1);
}).catch((err) => {
  console.error('ping failed:', err.message || err);
  process.exit(1);
});
