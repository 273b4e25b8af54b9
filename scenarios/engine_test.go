package scenarios_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/scenarios"
)

func newEngine(t *testing.T, dir string) *scenarios.Engine {
	t.Helper()
	e, err := scenarios.NewEngine(scenarios.Options{
		Registry: shopRegistry(), Dir: dir,
		Builtins: fstest.MapFS{
			"default.yaml": {Data: []byte("name: default\nrules: []\n")},
			"decline.yaml": {Data: []byte("name: decline-all\nrules:\n  - {provider: shop, on: pay, then: {outcome: decline}}\n")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestResolveAndActive(t *testing.T) {
	e := newEngine(t, "")
	if name, err := e.Resolve(""); err != nil || name != "default" {
		t.Errorf("Resolve(\"\") = %q, %v", name, err)
	}
	if name, err := e.Resolve("decline-all"); err != nil || name != "decline-all" {
		t.Errorf("Resolve(decline-all) = %q, %v", name, err)
	}
	_, err := e.Resolve("nope")
	if emulators.KindOf(err) != emulators.UnknownScenario || err.(*emulators.Error).Msg != `unknown scenario "nope"; known: decline-all, default` {
		t.Errorf("Resolve(nope) = %v", err)
	}
	if err := e.SetActive("nope"); emulators.KindOf(err) != emulators.NotFound {
		t.Errorf("SetActive(nope) = %v", err)
	}
	if err := e.SetActive("decline-all"); err != nil {
		t.Fatal(err)
	}
	if p := e.Decide("", "shop", "pay", nil); p.Outcome != "decline" || p.Scenario != "decline-all" {
		t.Errorf("decision under the active scenario: %+v", p)
	}
	if p := e.Decide("default", "shop", "pay", nil); p.Matched {
		t.Errorf("an object created under default keeps it: %+v", p)
	}
	if p := e.Decide("deleted-since", "shop", "pay", nil); p.Matched {
		t.Errorf("a vanished scenario decides nothing: %+v", p)
	}
}

func TestUpload(t *testing.T) {
	e := newEngine(t, "")
	if _, err := e.Upload([]byte("rules: []\n")); err == nil {
		t.Error("an upload without a name was accepted")
	}
	_, err := e.Upload([]byte("name: bad\nrules:\n  - {provider: shop, on: pay, then: {outcome: nope}}\n"))
	if len(scenarios.Problems(err)) != 1 {
		t.Errorf("upload problems = %v", err)
	}
	// Shadowing a built-in takes replace: true (issue #13).
	if _, err := e.Upload([]byte("name: decline-all\nrules:\n  - {provider: shop, on: pay, then: {outcome: abandon}}\n")); !errors.Is(err, scenarios.ErrConflict) {
		t.Errorf("an upload named like a built-in without replace: true: %v", err)
	}
	if p := e.Decide("decline-all", "shop", "pay", nil); p.Outcome != "decline" {
		t.Errorf("the refused upload changed the built-in: %+v", p)
	}
	if _, err := e.Upload([]byte("name: decline-all\nreplace: true\nrules:\n  - {provider: shop, on: pay, then: {outcome: abandon}}\n")); err != nil {
		t.Fatal(err)
	}
	if p := e.Decide("decline-all", "shop", "pay", nil); p.Outcome != "abandon" {
		t.Errorf("an upload with replace: true replaces the built-in of the same name: %+v", p)
	}
	if err := e.Delete("decline-all"); err != nil {
		t.Fatal(err)
	}
	if p := e.Decide("decline-all", "shop", "pay", nil); p.Outcome != "decline" {
		t.Errorf("deleting the upload brings the built-in back: %+v", p)
	}
}

// TestConcurrentRequestsKeepTheirScenarios: two clients deciding under
// different scenarios at the same time each get their own outcomes.
func TestConcurrentRequestsKeepTheirScenarios(t *testing.T) {
	e := newEngine(t, "")
	e.Upload([]byte("name: approve-all\nrules:\n  - {provider: shop, on: pay, then: {outcome: approve}}\n"))
	var wg sync.WaitGroup
	errs := make(chan string, 2000)
	for _, c := range []struct{ scenario, want string }{{"approve-all", "approve"}, {"decline-all", "decline"}, {"default", ""}} {
		wg.Go(func() {
			for range 500 {
				if p := e.Decide(c.scenario, "shop", "pay", scenarios.Attrs{"amount": "1"}); p.Outcome != c.want {
					errs <- fmt.Sprintf("%s decided %q", c.scenario, p.Outcome)
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 200 {
			e.SetActive([]string{"approve-all", "decline-all"}[i%2]) // the active one changing does not matter
		}
	})
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Fatal(msg)
	}
}

func TestDirectoryHotReload(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string, mod time.Time) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mod, mod) // distinct times: a rewrite within one second must still be seen
	}
	t0 := time.Now().Add(-time.Hour)
	write("night.yaml", "name: night\nrules:\n  - {provider: shop, on: pay, then: {outcome: decline}}\n", t0)
	e := newEngine(t, dir)
	if p := e.Decide("night", "shop", "pay", nil); p.Outcome != "decline" {
		t.Fatalf("dir scenario not loaded: %+v", p)
	}
	// A good edit replaces it.
	write("night.yaml", "name: night\nrules:\n  - {provider: shop, on: pay, then: {outcome: abandon}}\n", t0.Add(time.Minute))
	if !e.Rescan() {
		t.Fatal("Rescan saw no change")
	}
	if p := e.Decide("night", "shop", "pay", nil); p.Outcome != "abandon" {
		t.Errorf("after a good edit: %+v", p)
	}
	// A broken edit keeps the last good version and is reported.
	write("night.yaml", "name: night\nrules:\n  - {provider: shop, on: pay, then: {outcome: whatever}}\n", t0.Add(2*time.Minute))
	e.Rescan()
	if p := e.Decide("night", "shop", "pay", nil); p.Outcome != "abandon" {
		t.Errorf("after a broken edit: %+v (the last good version must stay)", p)
	}
	probs := e.Problems()
	if len(probs) != 1 || probs[0].Kept != "night" || len(probs[0].Problems) != 1 {
		t.Errorf("problems = %+v", probs)
	}
	// A new file appears; a removed file disappears.
	write("day.yaml", "name: day\nrules: []\n", t0)
	os.Remove(filepath.Join(dir, "night.yaml"))
	e.Rescan()
	if _, ok := e.Lookup("day"); !ok {
		t.Error("new file not loaded")
	}
	if _, ok := e.Lookup("night"); ok {
		t.Error("removed file still loaded")
	}
	if len(e.Problems()) != 0 {
		t.Errorf("problems of a removed file remain: %+v", e.Problems())
	}
}

func TestBrokenDirectoryFileAtStartIsReportedNotFatal(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("name: bad\nrules: [{provider: nope}]\n"), 0o644)
	e := newEngine(t, dir)
	if len(e.Problems()) != 1 {
		t.Errorf("problems = %+v", e.Problems())
	}
}

// A request's Decision keeps the scenario it was bound to, builds its
// attributes once, and decides each point the request reaches under it.
func TestDecisionBindsOneScenario(t *testing.T) {
	e := newEngine(t, "")
	if err := e.SetActive("decline-all"); err != nil {
		t.Fatal(err)
	}
	d := e.Bind("", "shop")
	builds := 0
	attrs := func() scenarios.Attrs { builds++; return scenarios.Attrs{"amount": "1"} }
	if p := d.Decide("create", attrs); p.Matched || builds != 0 {
		t.Errorf("create (no rules): %+v, attributes built %d times", p, builds)
	}
	if err := e.SetActive("default"); err != nil { // the active scenario changes mid-request
		t.Fatal(err)
	}
	if p := d.Decide("pay", attrs); p.Outcome != "decline" || p.Scenario != "decline-all" {
		t.Errorf("pay under the bound scenario: %+v", p)
	}
	d.Decide("pay", attrs)
	if builds != 1 {
		t.Errorf("attributes built %d times, want 1", builds)
	}
	if d2 := e.Bind("", "shop"); d2.Decide("pay", attrs).Matched {
		t.Error("a new request does not see the new active scenario")
	}
}
