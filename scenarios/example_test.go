package scenarios_test

import (
	"fmt"

	"github.com/paysandbox/sandbox/scenarios"
)

func ExampleLoad() {
	yaml := `
name: checkout-qa
rules:
  - name: large transfers are declined
    provider: shop
    on: pay
    when: { amount: { gt: 100000 } }
    then: { outcome: decline, delay: 2s }
  - provider: shop
    on: pay
    then: { auto: true, outcome: approve }
`
	s, err := scenarios.Load("checkout-qa.yaml", []byte(yaml), shopRegistry())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Name, len(s.Rules), "rules")

	_, err = scenarios.Load("typo.yaml", []byte("rules:\n  - {provider: shop, on: pay, then: {outcome: aprove}}\n"), shopRegistry())
	fmt.Println(err)
	// Output:
	// checkout-qa 2 rules
	// typo.yaml:2: rules[0]: then.outcome: unknown outcome "aprove" for shop pay; outcomes: approve, decline, abandon (did you mean "approve"?)
}

func ExampleSelect() {
	s, _ := scenarios.Load("qa.yaml", []byte(`
rules:
  - name: large transfers are declined
    provider: shop
    on: pay
    when: { amount: { gt: 100000 } }
    then: { outcome: decline, delay: 2s }
`), shopRegistry())
	st := scenarios.NewState(nil)
	big := scenarios.Select(s, "shop", "pay", scenarios.Attrs{"amount": "150000.50"}, st)
	small := scenarios.Select(s, "shop", "pay", scenarios.Attrs{"amount": "990"}, st)
	fmt.Println(big.Matched, big.Outcome, big.DelayOr(0), big.Rule)
	fmt.Println(small.Matched, small.OutcomeOr("the provider's default"))
	// Output:
	// true decline 2s rules[0] "large transfers are declined"
	// false the provider's default
}

// A provider's table of decision points and the `then` keys each accepts,
// as the provider READMEs embed it.
func ExampleProviderSpec_KeysTable() {
	p := scenarios.ProviderSpec{Name: "shop", Points: []scenarios.PointSpec{
		{Name: "pay", Kind: scenarios.PayerPoint, Outcomes: []string{"approve", "decline"},
			Extra: map[string]scenarios.KeySpec{"payer": scenarios.Key[string]("the payer's name")}},
		{Name: "notify", Kind: scenarios.CallbackPoint, Shared: []string{"delay", "skip"}},
	}}
	fmt.Print(p.KeysTable())
	// Output:
	// | `on` | kind | outcomes | `then` keys |
	// |---|---|---|---|
	// | `pay` | payer | `approve`, `decline` | `outcome`, `delay`, `response_delay`, `auto`, `payer` (the payer's name) |
	// | `notify` | callback | – | `delay`, `skip` |
}
