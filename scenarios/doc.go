// Package scenarios scripts what the emulated providers do: approvals,
// rejections, delays, provider errors, network faults and misbehaving
// callbacks, written as YAML files of ordered rules.
//
// The Go types of this package are the schema: Scenario, Rule, Condition,
// Then. Loading is strict (Load): unknown keys, wrong types, bad durations,
// bad regular expressions, unknown providers, decision points, fields and
// outcomes are errors that name the file, the line and the rule, and every
// problem of a file is reported at once. `sandbox scenarios check FILE…`
// runs the same checks.
//
// # A complete example
//
//	# checkout-qa.yaml
//	name: checkout-qa                  # how requests select it; default: the file's name
//	description: >-                    # free text, shown on the dashboard
//	  Large Khipu payments fail at the bank; PayU confirmations arrive late and twice.
//	rules:                             # ordered: per decision point, the first matching rule wins
//	  - name: large transfers fail     # optional label (errors, journal, dashboard)
//	    provider: khipu                # khipu | hambit | payu
//	    on: pay                        # the decision point (each provider lists its own)
//	    when:                          # every condition must hold
//	      amount: { gt: 20000 }        # exact decimals; the built-in receiver takes up to 50000
//	      currency: CLP                # a bare value means eq
//	    then:
//	      outcome: bank_error          # the point's result (each point lists its outcomes)
//	      delay: 2s                    # a wait on the sandbox clock (scaled by --time-scale)
//	  - name: everything else is paid by a robot payer
//	    provider: khipu
//	    on: pay
//	    then: { auto: true, outcome: approve, delay: 1s }
//	  - provider: payu
//	    on: confirmation               # a callback point
//	    then: { delay: 5s, duplicate: 1, retry: [1s, 5s, 30s] }
//	  - provider: hambit
//	    on: create_collection
//	    when: { externalOrderId: { prefix: "OUTAGE-" } }
//	    then: { error: { code: "500" } }   # the provider's own error envelope
//	    times: 3                       # only the first 3 matching requests
//	  - provider: payu
//	    on: submit
//	    when: { referenceCode: { regex: "^FLAKY-" } }
//	    then: { fault: reset }         # close the connection with no answer
//	    probability: 0.5               # half of them (deterministic under --seed)
//
// # Conditions (when)
//
// `field: value` tests equality; `field: {op: value, ...}` applies each
// operator: eq, ne, gt, gte, lt, lte, in (a list), contains, prefix, suffix,
// regex (Go syntax). gt/gte/lt/lte need a decimal field and compare exact
// decimals ("100000.00" equals 100000); text operators work on any field. A
// field the request does not carry compares as the empty string. The fields
// available depend on the provider and the decision point.
//
// # Effects (then)
//
// Shared keys, whose use depends on the kind of decision point: request
// points (R) are taken at an API request after authentication and
// validation, payer points (P) when the object is created (the plan is
// stored with it), callback points (C) once per callback event, internal
// points (I) at a provider-internal step such as verification or review.
// This table is thenKeys (thenkeys.go), the same table the loader checks
// with; TestThenKeysDocumented fails when they differ.
//
//	key            R P C I  meaning
//	outcome        x x . x  the point's result; each provider lists its outcomes
//	delay          x x x x  wait before the outcome or the callback applies (sandbox clock, scaled)
//	response_delay x x . .  hold the HTTP answer (API call or page); wall-clock
//	auto           . x . .  true: a robot payer applies the outcome after the delay (default 2s), no browser
//	error          x . . .  answer with the provider's error envelope; nothing is created
//	fault          x . . .  timeout | reset | malformed: break the answer; nothing is created
//	skip           . . x .  true: the callback is not delivered (journaled as skipped)
//	duplicate      . . x .  N extra copies of the first attempt, 1s apart
//	bad_signature  . . x .  wrong | missing: sign with a wrong key, or not at all
//	retry          . . x .  [intervals] between attempts after a failure; replaces the configured ones
//	timeout        . . x .  per-attempt HTTP timeout; wall-clock
//	fail_attempts  . . x .  N: the first N attempts fail without being sent (a paysandbox addition)
//
// Providers add their own keys (Khipu payer, corrupt_token; Hambit
// processing_after, amount_format; PayU responseCode, settle, signature …),
// registered with Register and decoded as strictly as the shared ones.
//
// # Selection
//
// The Engine holds the built-in scenarios (embedded: default,
// ci-approve-all, ci-reject-all, slow-bank, flaky-callbacks,
// provider-outage), the files of --scenarios DIR (re-read when they change;
// a broken edit keeps the last good version and is reported), uploads
// through the admin API, and the file given to --scenario. Uploads are
// bounded (MaxUploads, MaxUploadBytes), can be deleted (Engine.Delete), and
// an upload named like a built-in is refused (ErrConflict) unless its file
// says `replace: true` at the top level. Regex conditions are at most
// MaxRegex bytes and match the first MaxRegexWork/len(pattern) bytes of a
// field, so a decision costs a bounded time whatever a request carries. A request picks
// one with the X-Sandbox-Scenario header (an unknown name is an error, never
// a silent default); without it the active scenario applies. The scenario
// that decided an object's creation stays attached to the object for all
// its later decisions, so parallel tests do not interfere.
//
// The matcher is pure (Select): scenario, provider, decision point and
// attributes in, Plan out; the only state is the per-scenario count of
// `times` and the seeded `probability` draws (State).
package scenarios
