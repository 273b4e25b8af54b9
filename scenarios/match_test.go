package scenarios_test

import (
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"github.com/paysandbox/sandbox/scenarios"
)

func mustLoad(t testing.TB, yaml string) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Load("test.yaml", []byte(yaml), shopRegistry())
	if err != nil {
		t.Fatalf("load:\n%v", err)
	}
	return s
}

func TestOperators(t *testing.T) {
	tests := []struct {
		cond  string // the when clause of a shop create rule
		attrs scenarios.Attrs
		want  bool
	}{
		{`amount: 100`, scenarios.Attrs{"amount": "100.00"}, true}, // decimals, not text
		{`amount: 100`, scenarios.Attrs{"amount": "100.01"}, false},
		{`amount: {eq: "0.1"}`, scenarios.Attrs{"amount": "0.10"}, true},
		{`amount: {ne: 5}`, scenarios.Attrs{"amount": "5.0"}, false},
		{`amount: {ne: 5}`, scenarios.Attrs{}, true},
		{`amount: {gt: 100000}`, scenarios.Attrs{"amount": "100000.01"}, true},
		{`amount: {gt: 100000}`, scenarios.Attrs{"amount": "100000"}, false},
		{`amount: {gte: 100000}`, scenarios.Attrs{"amount": "100000.0000"}, true},
		{`amount: {lt: "0.3"}`, scenarios.Attrs{"amount": "0.29999999"}, true}, // no float rounding
		{`amount: {lte: 9}`, scenarios.Attrs{"amount": "10"}, false},
		{`amount: {gt: 5}`, scenarios.Attrs{"amount": "abc"}, false},
		{`amount: {gt: 5}`, scenarios.Attrs{}, false},
		{`amount: {in: [1, 2.5, 7]}`, scenarios.Attrs{"amount": "2.50"}, true},
		{`amount: {in: [1, 2.5, 7]}`, scenarios.Attrs{"amount": "3"}, false},
		{`amount: {gt: 10, lt: 20}`, scenarios.Attrs{"amount": "15"}, true},
		{`amount: {gt: 10, lt: 20}`, scenarios.Attrs{"amount": "25"}, false},
		{`currency: CLP`, scenarios.Attrs{"currency": "CLP"}, true},
		{`currency: CLP`, scenarios.Attrs{"currency": "clp"}, false},
		{`currency: {ne: CLP}`, scenarios.Attrs{"currency": "USD"}, true},
		{`currency: {in: [USD, EUR]}`, scenarios.Attrs{"currency": "EUR"}, true},
		{`reference: {contains: "-X-"}`, scenarios.Attrs{"reference": "ORD-X-1"}, true},
		{`reference: {prefix: OUTAGE-}`, scenarios.Attrs{"reference": "OUTAGE-7"}, true},
		{`reference: {prefix: OUTAGE-}`, scenarios.Attrs{"reference": "ORD-OUTAGE-7"}, false},
		{`reference: {suffix: "-slow"}`, scenarios.Attrs{"reference": "ORD-1-slow"}, true},
		{`reference: {regex: "^ORD-[0-9]{3}$"}`, scenarios.Attrs{"reference": "ORD-123"}, true},
		{`reference: {regex: "^ORD-[0-9]{3}$"}`, scenarios.Attrs{"reference": "ORD-1234"}, false},
		{`amount: {prefix: "99"}`, scenarios.Attrs{"amount": "990"}, true}, // text operators on a decimal field
		{`test: true`, scenarios.Attrs{"test": "true"}, true},
		{`test: true`, scenarios.Attrs{"test": "1"}, true},
		{`test: false`, scenarios.Attrs{}, true},
		{`test: {ne: true}`, scenarios.Attrs{"test": "TRUE"}, false},
		{`{currency: CLP, amount: {gt: 1}}`, scenarios.Attrs{"currency": "CLP", "amount": "0.5"}, false}, // all must hold
	}
	for _, tt := range tests {
		name := tt.cond + " " + fmt.Sprint(tt.attrs)
		t.Run(name, func(t *testing.T) {
			when := tt.cond
			if !strings.HasPrefix(when, "{") {
				when = "{" + when + "}"
			}
			s := mustLoad(t, "name: ops\nrules:\n  - provider: shop\n    on: create\n    when: "+when+"\n    then: {outcome: decline}\n")
			p := scenarios.Select(s, "shop", "create", tt.attrs, scenarios.NewState(nil))
			if p.Matched != tt.want {
				t.Errorf("matched = %v, want %v", p.Matched, tt.want)
			}
		})
	}
}

const ordered = `name: ordered
rules:
  - name: first
    provider: shop
    on: pay
    when: { amount: { gt: 100 } }
    then: { outcome: decline }
    times: 2
  - name: second
    provider: shop
    on: pay
    then: { outcome: abandon }
  - name: other point
    provider: shop
    on: create
    then: { outcome: approve }
  - name: other provider
    provider: bank
    on: transfer
    then: { outcome: ok }
`

func TestRuleOrderTimesAndPoints(t *testing.T) {
	s := mustLoad(t, ordered)
	st := scenarios.NewState(nil)
	big := scenarios.Attrs{"amount": "500"}
	var got []string
	for range 4 {
		got = append(got, scenarios.Select(s, "shop", "pay", big, st).Rule)
	}
	want := []string{`rules[0] "first"`, `rules[0] "first"`, `rules[1] "second"`, `rules[1] "second"`}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("rules applied = %v, want %v (times: 2 then fall through)", got, want)
	}
	if p := scenarios.Select(s, "shop", "pay", scenarios.Attrs{"amount": "5"}, st); p.Rule != `rules[1] "second"` || p.Outcome != "abandon" {
		t.Errorf("small amount: %+v", p)
	}
	if p := scenarios.Select(s, "shop", "verify", big, st); p.Matched || p.Scenario != "ordered" {
		t.Errorf("a point with no rule: %+v", p)
	}
	if p := scenarios.Select(s, "bank", "transfer", nil, st); p.Outcome != "ok" {
		t.Errorf("other provider: %+v", p)
	}
	if st.Count(0) != 2 || st.Count(1) != 3 {
		t.Errorf("counts = %d, %d", st.Count(0), st.Count(1))
	}
}

func TestProbabilityWithFixedSeed(t *testing.T) {
	s := mustLoad(t, "name: p\nrules:\n  - provider: shop\n    on: pay\n    then: {outcome: decline}\n    probability: 0.25\n")
	run := func() []bool {
		rng := mrand.New(mrand.NewPCG(7, 7))
		st := scenarios.NewState(rng.Float64)
		out := make([]bool, 1000)
		for i := range out {
			out[i] = scenarios.Select(s, "shop", "pay", nil, st).Matched
		}
		return out
	}
	a, b := run(), run()
	hits := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("draw %d differs between two runs with the same seed", i)
		}
		if a[i] {
			hits++
		}
	}
	if hits < 200 || hits > 300 {
		t.Errorf("%d of 1000 matched with probability 0.25", hits)
	}
}

func BenchmarkSelect(b *testing.B) {
	s := mustLoad(b, ordered)
	st := scenarios.NewState(nil)
	attrs := scenarios.Attrs{"amount": "50", "currency": "CLP"}
	b.ReportAllocs()
	for b.Loop() {
		scenarios.Select(s, "shop", "pay", attrs, st)
	}
}
