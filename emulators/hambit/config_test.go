package hambit

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/scenarios"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if len(c.Callbacks.Retry) != 9 || c.Callbacks.Retry[0] != 3*time.Minute || c.Callbacks.Timeout != 10*time.Second {
		t.Errorf("callbacks %+v", c.Callbacks)
	}
	if len(c.Banks["CLP"]) != 44 || c.TimestampWindow != 300*time.Second || nodeTag(c.NodeTag) != "SANDBOX1" {
		t.Errorf("defaults %+v", c)
	}
	accts := c.effectiveAccounts()
	if len(accts) != 2 || accts[0].AccessKey != "SBXFAKE1" || accts[1].AccessKey != "pFqV75X3" || accts[1].SecretKey != "emulator-test-secret" ||
		!accts[1].Balances["VND"].Equal(emulators.DecimalFromInt(1000000)) {
		t.Errorf("built-in accounts %+v", accts)
	}
}

// decode decodes a hambit: section the way the sandbox does (strictly, over
// the defaults).
func decode(t *testing.T, text string) (Config, error) {
	t.Helper()
	c := DefaultConfig()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	if probs := scenarios.StrictDecode("test.yaml", doc.Content[0], &c); len(probs) > 0 {
		t.Fatalf("decode: %v", probs)
	}
	return c, c.Validate()
}

func TestConfigFile(t *testing.T) {
	c, err := decode(t, `
accounts:
  - access_key: LIVE0001
    secret_key: s3cret
    ip_whitelist: [10.0.0.0/8, 192.0.2.7]
    permissions: [payout]
    merchant_name: shop
    merchant_id: 1707285840326127618
    balances: {CLP: 5000, BRL: "10.50"}
    notify_url: https://shop.example/hambit
    fees: {collect: {percent: "2.5", fixed: 10}, payout: {percent: 0}}
    callback_amounts: numeric
    callback_empty_values: include
banks:
  MXN: [{name: BBVA MEXICO, code: "40012"}]
timestamp_window: 60s
node_tag: DEV001
sequence_start: 15034
payout: {processing_after: 5s, final_after: 1m}
callbacks: {timeout: 3s, retry: [1s, 2s]}
`)
	if err != nil {
		t.Fatal(err)
	}
	accts := c.effectiveAccounts()
	if len(accts) != 1 {
		t.Fatalf("listed accounts replace the built-ins: %d", len(accts))
	}
	a := newAccount(accts[0])
	if a.merchantID != 1707285840326127618 || !a.perms[permPayout] || a.perms[permCollect] || a.anyIP ||
		!a.Balances["BRL"].Equal(emulators.MustDecimal("10.5")) {
		t.Errorf("account %+v", a)
	}
	if got := a.collectFee.fee(emulators.DecimalFromInt(1000), 0); got.String() != "35" {
		t.Errorf("2.5 %% + 10 of 1000 = %s", got)
	}
	if got := a.payoutFee.fee(emulators.DecimalFromInt(1000), 0); got.String() != "0" {
		t.Errorf("0 %% payout fee = %s", got)
	}
	if len(c.Banks["CLP"]) != 44 || len(c.Banks["MXN"]) != 1 {
		t.Error("bank lists merge per currency")
	}
	if nodeTag(c.NodeTag) != "DEV001OO" {
		t.Errorf("node tag %q", nodeTag(c.NodeTag))
	}
	c, err = decode(t, "builtin_accounts: true\naccounts: [{access_key: X1, secret_key: y}]\n")
	if err != nil || len(c.effectiveAccounts()) != 3 {
		t.Errorf("builtin_accounts: %v %d", err, len(c.effectiveAccounts()))
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"missing secret", "accounts: [{access_key: K1}]", "accounts[0].secret_key: required"},
		{"missing key", "accounts: [{secret_key: s}]", "accounts[0].access_key: required"},
		{"duplicate key", "accounts: [{access_key: K1, secret_key: a}, {access_key: K1, secret_key: b}]", "accounts[1].access_key: \"K1\" is also used by accounts[0]"},
		{"builtin clash", "builtin_accounts: true\naccounts: [{access_key: SBXFAKE1, secret_key: a}]", "builtin account SBXFAKE1.access_key"},
		{"bad ip", "accounts: [{access_key: K1, secret_key: s, ip_whitelist: [300.1.1.1]}]", "accounts[0].ip_whitelist[0]: \"300.1.1.1\" is not an IP or CIDR"},
		{"bad permission", "accounts: [{access_key: K1, secret_key: s, permissions: [refund]}]", "accounts[0].permissions[0]: \"refund\": expected collect or payout"},
		{"bad merchant id", "accounts: [{access_key: K1, secret_key: s, merchant_id: 42}]", "accounts[0].merchant_id: 42: expected a 19-digit id"},
		{"negative balance", "accounts: [{access_key: K1, secret_key: s, balances: {CLP: -1}}]", "accounts[0].balances.CLP: must not be negative"},
		{"bad notify", "accounts: [{access_key: K1, secret_key: s, notify_url: localhost/x}]", "accounts[0].notify_url: must be an absolute http or https URL"},
		{"bad fee", "accounts: [{access_key: K1, secret_key: s, fees: {collect: {percent: 101}}}]", "accounts[0].fees.collect.percent: 101: expected 0 to 100"},
		{"bad amounts", "accounts: [{access_key: K1, secret_key: s, callback_amounts: float}]", "accounts[0].callback_amounts: \"float\": expected string or numeric"},
		{"bad empty", "accounts: [{access_key: K1, secret_key: s, callback_empty_values: drop}]", "accounts[0].callback_empty_values: \"drop\": expected skip or include"},
		{"window", "timestamp_window: 0s", "timestamp_window: must be positive"},
		{"node tag", "node_tag: sandbox_1", "node_tag: \"sandbox_1\": expected 1 to 8 characters"},
		{"sequence", "sequence_start: 0", "sequence_start: 0: expected 1 to 99999999"},
		{"retry", "callbacks: {retry: [0s]}", "callbacks.retry[0]: must be positive"},
		{"timeout", "callbacks: {timeout: 0s}", "callbacks.timeout: must be positive"},
		{"country", "countries: [{segment: chl, currency: CLP}, {segment: chl, currency: clp}]", "countries[1].segment: \"chl\" is listed twice\ncountries[1].currency: \"clp\""},
		{"no countries", "countries: []", "countries: at least one country segment is required"},
		{"product", "countries: [{segment: mex, currency: MXN, products: [query]}]", "countries[0].products[0]: \"query\""},
		{"bank", "banks: {CLP: [{name: X}]}", "banks.CLP[0].code: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(t, tt.text)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want %q", err, tt.want)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.Contains(line, ": ") {
					t.Errorf("line %q does not name its key", line)
				}
			}
		})
	}
}

// TestSignCommand replays vector 1 through `sandbox sign hambit`.
func TestSignCommand(t *testing.T) {
	var out bytes.Buffer
	err := SignCommand([]string{"-access-key", "pFqV75X3", "-secret", "emulator-test-secret", "-timestamp", "1713319809342",
		"-nonce", "794c26b0-d33c-4394-b2bb-c485eca16d9e", "-body-file", "testdata/requests/vector1_create_collection.json"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"access_key=pFqV75X3&amount=100&channelType=BANK&customerType=RUT&externalOrderId=1231231231231111&nonce=794c26b0-d33c-4394-b2bb-c485eca16d9e&notifyUrl=https://merchant.example/hambit/notify&returnUrl=https://merchant.example/return&timestamp=1713319809342&userInfoNo=12312321&userInfoType=CASH\nsign: AfAk4gmaxDOy/L5m7iD9hpH6r8U=",
		"&remark=&", "sign: zz+RXrWbEJdN/67U8EtBkfcM2BQ=",
		"headers (skip empty values, numbers as sent):\naccess_key: pFqV75X3\ntimestamp: 1713319809342\nnonce: 794c26b0-d33c-4394-b2bb-c485eca16d9e\nsign: AfAk4gmaxDOy/L5m7iD9hpH6r8U=",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	out.Reset()
	if err := SignCommand([]string{"-access-key", "pFqV75X3", "-secret", "emulator-test-secret", "-timestamp", "1713319809342",
		"-nonce", "794c26b0-d33c-4394-b2bb-c485eca16d9e"}, &out); err != nil || !strings.Contains(out.String(), "sign: mFjgaDDYQL2Mtc0qNKDcyfIb2X0=") {
		t.Errorf("vector 2: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := SignCommand([]string{"-body", `{"amount":100.50}`}, &out); err != nil || !strings.Contains(out.String(), "amount=100.5&") ||
		!strings.Contains(out.String(), "amount=100.50&") {
		t.Errorf("number forms: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := SignCommand([]string{"-h"}, &out); err != nil || !strings.Contains(out.String(), "usage: sandbox sign hambit") {
		t.Errorf("-h: %v %s", err, out.String())
	}
	for _, args := range [][]string{{"-body", "[1]"}, {"-timestamp", "1713319809"}, {"-nonce", "x"}, {"extra"}, {"-body", "{}", "-body-file", "x"}, {"-nope"}} {
		if err := SignCommand(args, &bytes.Buffer{}); err == nil {
			t.Errorf("SignCommand(%q) succeeded", args)
		}
	}
}

// readmeBlock returns the first ```yaml block of README.md that starts with prefix.
func readmeBlock(t *testing.T, prefix string) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range strings.Split(string(b), "```yaml\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		if strings.HasPrefix(block, prefix) {
			return block
		}
	}
	t.Fatalf("README.md has no yaml block starting %q", prefix)
	return ""
}

// TestReadmeExamples keeps the README's configuration and scenario valid.
func TestReadmeExamples(t *testing.T) {
	block := readmeBlock(t, "hambit:")
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(block), &doc); err != nil {
		t.Fatal(err)
	}
	section := doc.Content[0].Content[1]
	c := DefaultConfig()
	if probs := scenarios.StrictDecode("README.md", section, &c); len(probs) > 0 {
		t.Fatalf("README configuration: %v", probs)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("README configuration: %v", err)
	}
	if _, err := scenarios.Load("README.md", []byte(readmeBlock(t, "name: hambit-qa")), scenarios.Default); err != nil {
		t.Fatalf("README scenario: %v", err)
	}
}
