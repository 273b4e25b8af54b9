// Package payu emulates PayU Latam for Chile: the Payments API and the
// Queries (reports) API 4.0 in JSON and XML, the confirmation page POST, the
// response page redirect, an emulated WebPay Plus page (TRANSBANK_DEBIT) and
// KHIPU payments through the Khipu emulator. The normative specification is
// docs/payu.md of the project; its sources are the PayU developer pages
// (https://developers.payulatam.com/latam/pt/docs/integrations/api-integration/payments-api-chile.html,
// …/getting-started/test-your-solution.html, …/response-codes-and-variables.html,
// …/api-integration/refunds-api.html, …/api-integration/queries-api.html,
// …/webcheckout-integration/confirmation-page.html, …/response-page.html)
// and the official SDKs (PHP 4.5.8, Java 1.5.0, .NET).
//
// # URL surface (under /payu, and without the prefix on the hosts of payu.hosts)
//
//	POST /payu/payments-api/4.0/service.cgi    PING, GET_PAYMENT_METHODS, GET_PAYMENT_METHOD_AVAILABILITY,
//	                                           GET_BANKS_LIST, SUBMIT_TRANSACTION (AUTHORIZATION,
//	                                           AUTHORIZATION_AND_CAPTURE, CAPTURE, VOID, REFUND, PARTIAL_REFUND)
//	POST /payu/reports-api/4.0/service.cgi     PING, ORDER_DETAIL, ORDER_DETAIL_BY_REFERENCE_CODE,
//	                                           TRANSACTION_RESPONSE_DETAIL
//	GET|POST /payu/webpay/initTransaction      the emulated WebPay Plus page (token_ws)
//	GET  /payu/response/{transactionId}        hop to the merchant's response page (302 with signed parameters)
//	GET  /payu/static/…                        page assets
//
// Other methods on the API paths answer 405 (Allow: POST); unknown paths 404;
// both in PayU's error envelope. BANK_URL of a KHIPU payment points at the
// Khipu emulator's /khipu/payment/simplified/{id}.
//
// # Files
//
// decode.go (JSON/XML request trees, XML pre-scan), out.go (one response tree,
// rendered as JSON with nulls or XML without), errors.go (the one error
// renderer, negotiation), handler.go (the pipeline of §4.1), validate.go,
// submit.go (new payments), cards.go (§7.5), postpay.go (§8), lifecycle.go
// (state changes, timers), webpay.go, khipu.go (the emulators.BankTransfers
// bridge), confirm.go (§10), response.go (§11), queries.go (§12), sign.go
// (§7.4, §10, §11.2 and the exported client helpers), admin.go, signcmd.go.
//
// # Not emulated
//
// The Tokenization API (CREATE_TOKEN, creditCardTokenId), subscriptions, the
// Promotions and Payouts APIs, the WebCheckout form, other countries and
// their methods (PSE, cash, Boleto; Chile's MULTICAJA), USD or multi-currency
// processing, CANCELLATION and CREDIT, chargebacks, antifraud questionnaires,
// 3-D Secure, device fingerprinting, e-mails, the management panel, the
// confirmation sender IP allow-list, Accept-Language (docs/payu.md §18).
//
// # Deviations and decisions beyond the spec
//
//   - XML bodies go through encoding/xml's token stream before etree parses
//     them: DTDs and other <!…> declarations, processing instructions other
//     than <?xml?>, unknown entities, nesting deeper than 32 and more than
//     20,000 elements are refused with code ERROR and an (S) text (the spec
//     asks for refusal but names no text).
//   - Format errors (bad dates, numbers, enums) are reported after the
//     "property: …" violations in the same error text when both occur.
//   - A missing CVV with processWithoutCvv2 on an account without
//     allow_no_cvv answers "Sandbox: processing without CVV2 is not enabled
//     for account [Y]" (the spec gives no text).
//   - A KHIPU payment whose CreateTransfer fails (or with no Khipu emulator
//     wired) answers code ERROR "Sandbox: the Khipu payment could not be
//     created: …" and creates no order.
//   - A submit scenario outcome on a WebPay or Khipu payment decides it at
//     once (no payer page), except outcome pending, which keeps the redirect
//     flow. A declined refund by scenario or admin defaults to responseCode
//     PAYMENT_NETWORK_REJECTED.
//   - Confirmations of refund transactions, when post_payment_transactions
//     is on, carry the refunded amount as value.
//   - The WebPay page decides on POST to the same initTransaction URL with
//     an action field (pay or cancel); a merchant's own POST carries only
//     token_ws and shows the page.
//   - maskedNumber in Queries is first 6 + stars + last 4 of the length sent;
//     a WebPay card is stored once the payer approved on the page.
//   - The XML transactions list is <transactions><transaction>…; the
//     reference search list is <payload class="list"><order>….
package payu
