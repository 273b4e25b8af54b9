// Package khipu emulates Khipu, the Chilean bank-transfer payment provider,
// to the normative specification docs/khipu.md (section numbers below
// refer to it).
//
// # APIs emulated
//
//   - API 2.0 (https://khipu.com/api/2.0): form bodies, the request
//     signature "Authorization: <receiver_id>:<hex HMAC-SHA256>" of §5 with
//     every candidate URL, RFC 3986 re-encoding of the decoded parameters,
//     trailing slashes and the value formats of the official PHP, Ruby,
//     Java and .NET clients and of npm fi-khipu (§4.2).
//   - API 3.0 (https://payment-api.khipu.com/v3): JSON bodies with exact
//     numbers, "x-api-key", predict, receivers (integrator-only: 403).
//   - Notifications API 1.3 (form POST with the notification token) and 3.0
//     (the payment as JSON signed with x-khipu-signature), through the
//     sandbox's callback dispatcher with Khipu's retry schedule (§13).
//   - The payer pages (§12): payment info, the DemoBank simplified-transfer
//     flow, the manual transfer page and an HTML receipt, in Spanish,
//     offline (web/templates/khipu, web/static/khipu).
//   - The bank-transfer interface PayU Latam's paymentMethod KHIPU pays
//     through (emulators.BankTransfers, §13.4).
//
// Sources: https://khipu.com/page/api-referencia,
// https://docs.khipu.com/en/payment-solutions/instant-payments/v2/signing-requests,
// https://docs.khipu.com/en/apis/v3/instant-payments/openapi.md,
// https://docs.khipu.com/portal/en/payment-webhook, the official clients
// (khipu/khipu-api-php-client, -ruby-client, -java-client, -dotnet-client)
// and npm fi-khipu@0.1.0; the full list is §18 of the specification.
//
// # URL surface
//
// Under {base}/khipu (and at / for the hosts khipu.com and
// payment-api.khipu.com), every route with and without a trailing slash:
//
//	GET    /api/2.0/banks                        GET    /v3/banks
//	POST   /api/2.0/payments                     POST   /v3/payments
//	GET    /api/2.0/payments?notification_token= GET    /v3/payments/{id}
//	GET    /api/2.0/payments/{id}                DELETE /v3/payments/{id}
//	DELETE /api/2.0/payments/{id}                POST   /v3/payments/{id}/confirm
//	POST   /api/2.0/payments/{id}/confirm        POST   /v3/payments/{id}/refunds
//	POST   /api/2.0/payments/{id}/refunds        GET    /v3/merchants/{id}/paymentMethods
//	GET    /api/2.0/merchants/{id}/paymentMethods GET   /v3/predict
//	POST   /api/2.0/receivers (403 A6)           POST   /v3/receivers, GET /v3/receivers/children (403 A6)
//	GET    /payment/info/{id}                    GET|POST /payment/simplified/{id}
//	GET|POST /payment/manual/{id}                GET    /receipts/{id}
//	GET    /static/{name}
//
// # Not emulated
//
//   - API 1.x and notification API 1.2 (notify_api_version "1.2" is
//     rejected with F18); real banks, money and bank automation; DemoBank's
//     exact HTML; the 3-hour per-attempt window.
//   - PDF receipts (an HTML page instead), e-mails (send_email,
//     send_reminders: journaled as "email not sent (not emulated)").
//   - webpay_url, hites_url, payme_url and card methods; the mobile app and
//     app_url deep links; khipu.js / KhipuClient SDK flows; POS terminals.
//   - Integrator features (receivers → 403 A6); integrator_fee,
//     collect_account_uuid and psp_client_merchant_name are stored only.
//   - contract_url contracts, attachment_urls (always []), discounts (0).
//   - Status details rejected-by-payer and marked-as-abuse; 3.0 webhook
//     events other than conciliation.
//   - Settlement to the merchant's bank and confirm_timeout_date effects;
//     dashboards, API key rotation; rate limits. predict knows no payer
//     history: every payer is new to every receiver (the scenario point
//     predict gives the other results).
//
// # Choices where the specification leaves room, and deviations
//
//   - Validation reports the first broken rule of each field (§7 lists
//     several per field); F16 and F17 land on payer_name, payer_email and
//     fixed_payer_personal_identifier; the bank minimum (F7) is reported
//     on amount, in amount's place.
//   - An amount longer than 16 characters is F2 ("Excede el largo máximo
//     de 16 caracteres"); an absent or empty required field is F1. Empty
//     optional values (bank_id="", expires_date="", integrator_fee="") count
//     as absent.
//   - The v2 form decoder is lenient like PHP's parse_str: invalid %
//     escapes are kept as text, so a malformed body is never a 400 of its
//     own; it signs differently and gets 403 A3 (auth comes first).
//   - X-Sandbox-String-To-Sign (candidate 1) is also sent with A1 and A2,
//     not only A3: the string does not depend on the secret.
//   - The refund point's reject answers 503 S8 on v3 too (§14's refund
//     default), not v3's 500 "Error interno" of injected create errors.
//   - The pay point's outcome abandon on the payer pages leaves the flow as
//     "Sí, salir del pago" does (303 to cancel_url).
//   - Admin pay with bank_error or abandon on a pending payment only
//     journals (the payment stays pending, as with a payer); mark_paid is
//     allowed on an expired pending payment.
//   - resend_callback is refused (409) for a payment with no notify_url on
//     it or its receiver, and for payments created for PayU.
//   - A refund request carrying X-Sandbox-Scenario is decided under that
//     scenario; without the header, under the payment's own.
//   - An uncertain transfer resolved as failed after expires_date makes the
//     payment expired at that moment (journaled, reported to PayU).
//   - Deleted payments stay in the store, invisible to both APIs, so their
//     pages can say "Cobro eliminado" and the dashboard can show them.
//   - HEAD on a GET route is answered like GET.
//   - The check that PayU's internal receiver_id differs from every
//     configured receiver runs at the first CreateTransfer (an Invalid
//     error), not at startup: New does not see PayU's configuration.
//     IsConfiguredReceiver lets the composition root check it at startup.
//   - Issue 11 (docs/khipu-decisions.md has the evidence): a payment
//     nobody has paid shows payment_method "not_available"; amounts stay
//     JSON strings in 3.0 although the OpenAPI document says number, and
//     the journal says so once per instance to a generated client
//     (openapi-generator, swagger-codegen User-Agent); predict always
//     carries cool_down_date (null unless new_destinatary_cool_down) and
//     new_destinatary_max_amount = 100000 capped by max_amount; dates are
//     also accepted with a space before the zone and as " UTC"/" GMT"
//     (Ruby's Time#to_s).
//   - The receipt shows the conciliation time in America/Santiago when the
//     time-zone database is available (the sandbox binary embeds it), else
//     UTC−3.
package khipu
