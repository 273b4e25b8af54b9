package scenarios_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/scenarios"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestLoaderErrorsGolden loads every broken file of testdata/invalid and
// compares the full error report with testdata/golden/<file>.txt.
func TestLoaderErrorsGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(files) < 8 {
		t.Fatalf("only %d broken files in the corpus", len(files))
	}
	reg := shopRegistry()
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, lerr := scenarios.Load(filepath.ToSlash(f), data, reg)
			if lerr == nil {
				t.Fatal("the broken file loaded")
			}
			got := lerr.Error() + "\n"
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(filepath.Base(f), ".yaml")+".txt")
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
			for _, p := range scenarios.Problems(lerr) {
				if p.File == "" || p.Msg == "" {
					t.Errorf("problem without file or message: %+v", p)
				}
			}
		})
	}
}

func TestLoadValid(t *testing.T) {
	data, err := os.ReadFile("testdata/valid/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := scenarios.Load("full.yaml", data, shopRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "full" || len(s.Rules) != 4 {
		t.Fatalf("loaded %q with %d rules", s.Name, len(s.Rules))
	}
	r0 := s.Rules[0]
	if r0.Times != 2 || r0.Then.Outcome != "decline" || r0.Then.ResponseDelay != 1500*time.Millisecond || len(r0.When) != 3 {
		t.Errorf("rule 0 = %+v", r0)
	}
	if e, ok := r0.Then.Error.(shopError); !ok || e.HTTPStatus != 503 || e.Message != "busy" {
		t.Errorf("rule 0 error = %#v", r0.Then.Error)
	}
	r1 := s.Rules[1]
	if !r1.Then.Auto || *r1.Then.Delay != 2*time.Second || *r1.Probability != 0.5 {
		t.Errorf("rule 1 = %+v", r1)
	}
	if p, ok := scenarios.Param[shopPayer](scenarios.Plan{Then: r1.Then}, "payer"); !ok || p.Method != "manual" || p.Bank != "Bawdf" {
		t.Errorf("payer = %+v, %v", p, ok)
	}
	n := s.Rules[2].Then
	if n.Duplicate != 2 || n.BadSignature != "wrong" || len(n.Retry) != 3 || !n.RetrySet || *n.Timeout != 3*time.Second || n.FailAttempts != 1 {
		t.Errorf("notify rule = %+v", n)
	}
	if c, _ := scenarios.Param[bool](scenarios.Plan{Then: n}, "corrupt"); !c {
		t.Error("corrupt: true not decoded")
	}
}

func TestFileNameIsTheDefaultName(t *testing.T) {
	s, err := scenarios.Load("dir/night-shift.yaml", []byte("rules: []\n"), shopRegistry())
	if err != nil || s.Name != "night-shift" {
		t.Fatalf("name = %q, %v", s.Name, err)
	}
}

func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.yaml")
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("rules: [{provider: shop, on: pay, then: {payer: &a {method: *a}}}]"))
	reg := shopRegistry()
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := scenarios.Load("fuzz.yaml", data, reg)
		if err == nil && s == nil {
			t.Fatal("nil scenario without an error")
		}
		if err != nil && len(scenarios.Problems(err)) == 0 {
			t.Fatalf("error without problems: %v", err)
		}
	})
}

// TestThenKeysDocumented checks that the table of shared `then` keys in
// doc.go is thenKeys, the table the loader works from.
func TestThenKeysDocumented(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	in := false
	for line := range strings.Lines(string(src)) {
		row, isRow := strings.CutPrefix(line, "//\t")
		switch {
		case isRow && strings.HasPrefix(row, "key "):
			in = true
		case in && !isRow:
			in = false
		}
		if in {
			got.WriteString(row)
		}
	}
	if want := scenarios.ThenKeysTable(); got.String() != want {
		t.Errorf("doc.go's table of then keys differs from thenKeys; it should read:\n%s\ngot:\n%s", want, got.String())
	}
}
