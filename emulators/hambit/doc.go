// Package hambit emulates Hambit's fiat payment API (the "v3" API of
// https://docs.hambit.co), Chile (CLP) in full and the other country
// segments through the same handlers: collection (pay-in) orders with a
// payer-facing cashier page, transfer (payout) orders, order queries,
// balance, bank list, signed callbacks with retries, and Hambit's request
// authentication (HMAC-SHA1 headers, IP whitelist, timestamp window, nonce
// replay), envelope, codes and order-id formats.
//
// The normative specification is docs/hambit.md of the project; its
// sources are the Chile page https://docs.hambit.co/chile.html (CL), the
// Brazil, Mexico, Vietnam, Philippines, India and QR pages for paths, the
// connectivity-test page for /ping, and the WooCommerce gateway
// xwzy316/woocommerce-payment-gateways (woo-hambit-gateway.php v1.0.6) for
// the production host, the header names and the empty-value convention.
//
// # URL surface
//
// Under {base}/hambit, and without the prefix on a Host of apis.hambit.co
// or t-apis.hambit.co (hambit.hosts):
//
//	GET       /ping, /api/v3/{country}/ping          connectivity test (not signed, not enveloped)
//	POST      /api/v3/{country}/createCollectingOrder create collection (permission collect)
//	POST      /api/v3/{country}/createTransferOrder   create transfer (permission payout)
//	POST      /api/v3/{country}/query/collectingOrder query collections
//	POST      /api/v3/{country}/query/transferOrder   query transfers
//	GET       /api/v3/{country}/query/balance         balance (collect or payout)
//	POST      /api/v3/{country}/query/bank            bank list (payout)
//	GET, POST /cashier/{cashierId}                    cashier page (payer)
//	GET       /static/…                               the cashier's CSS and JS
//
// {country} is a configured segment (defaults chl and cl → CLP, bra → BRL
// with product pix, mex → MXN with product bankTransfers, vn, ph, ind, col,
// per); a product segment after the country reaches the same handler.
//
// # Request pipeline
//
// route (404), the shared method dispatcher (405) and the shared request
// pipeline (serveOp, authenticate) run the checks of spec §3.4 in order:
// X-Sandbox-Scenario (400), body size (64 KiB) and depth (8), the four
// headers, access_key known (307), IP whitelist (301), body is a JSON
// object (300), timestamp window on the wall clock (307), signature (307,
// with X-Sandbox-String-To-Sign), nonce replay (307), permission (301),
// then the field rules (300), the scenario decision and the business rules
// (duplicate externalOrderId, 300). Errors travel as *emulators.Error and
// are shaped by answer alone (the shared error step's Shape): HTTP 200
// with {"code","success","msg","msgEn","data":null} and the code's fixed
// texts; the reason goes to X-Sandbox-Error-Detail and the journal.
//
// The signature (sign.go) is computed from the bytes as sent: top-level
// values are read with numbers kept as their source text. The verifier
// tries {skip, include empty values} × {numbers as sent, shortest form}.
// SignRequest and NewHeaders are the merchant-side helpers of the same
// computation (skip convention, numbers as sent).
//
// # Not emulated
//
//   - Crypto wallet (/api/v3/wallet/…), ramp/exchange (/api/v1/exchange/…),
//     the QR product (/api/v3/qr/…) and the Web3 API.
//   - Country-specific fields and rules outside Chile (CPF, PIX keys, OXXO,
//     CLABE, wallets): other segments check only the generic rules.
//   - The merchant back office: key creation, debug mode, the Signature Tool
//     (replaced by `sandbox sign hambit`), callback-address UI
//     (configuration instead), key activation delays.
//   - Upstream channel pages and real bank rails; settlement delays, account
//     statuses other than 4, freezes other than in-flight payouts.
//   - Refunds, chargebacks, reconciliation files; rate limits; Hambit's
//     callback source IPs; Hambit's real error texts.
//
// # Deviations from the specification, and choices where it is silent
//
//   - sign (spec §3.1, §3.4 step 3): only presence is checked. A sign that
//     is not 28 Base64 characters fails at step 8 with 307 and the debug
//     headers, which tells the integrator more than a bare 300 would.
//   - Nonce replay (spec §5.3): pairs are remembered for 2 × the window, but
//     the cache keeps at most 262,144 of them (64-bit hashes) so memory stays
//     flat under load; under sustained load above ~400 signed requests/s the
//     oldest are forgotten before 2 × window, while the timestamp window
//     still rejects replays older than the window.
//   - The timestamp detail reads "outside the +/-300 s window": debug header
//     values are ASCII (the spec's example writes ±).
//   - Balances belong to the access key that the configuration gives them
//     to; keys sharing a merchant_id share orders (queries) but not balances.
//   - Chile's field rules apply to every segment whose currency is CLP (chl
//     and cl by default).
//   - A collection's channelType outside Chile is looked up in the cashier's
//     pm list for the currency (e.g. BRL PIX → 101); unknown values are BANK
//     102.
//   - A GET with a non-empty body (query/balance) must send a JSON object,
//     which is signed like a POST body.
//   - A pay plan without auto: its delay is ignored (the payer's page action
//     is immediate); its outcome replaces the payer's action.
//   - advance on a transfer stuck in 2 decides success. decide success on an
//     underfunded transfer debits the available balance if it now covers
//     amount + fee, else it is refused (409); any other final state of an
//     underfunded transfer carries the insufficient-balance errorMsg.
//   - A manual callback (resend_callback) of a pending order sends status 1
//     ("Awaiting Payment" for a collection, amounts "0", orderPayTime null;
//     "Accepted" for a transfer); it uses the account's amount format and no
//     scenario keys.
//   - A scenario error whose code is not one of 200, 300, 301, 307, 500
//     uses the texts of 500 unless it sets msg and msgEn.
//   - Callback events for `when: {event: …}`: collection_paid,
//     collection_failed, transfer_processing, transfer_rejected,
//     transfer_succeeded, transfer_failed.
//   - An account without merchant_id gets a stable 19-digit id derived from
//     its access key; without merchant_name, "merchant_" + access key.
//   - The cashier page is in English (Hambit's cashier language for Chile
//     is not documented).
//   - Accounts are listed among the admin objects (kind account) so that
//     set_balance can be reached from the dashboard.
package hambit
