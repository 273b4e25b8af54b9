package emulators_test

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "github.com/paysandbox/sandbox/emulators/hambit" // registers its scenario vocabulary
	_ "github.com/paysandbox/sandbox/emulators/khipu"
	_ "github.com/paysandbox/sandbox/emulators/payu"
	"github.com/paysandbox/sandbox/scenarios"
)

var update = flag.Bool("update", false, "rewrite the generated table of then keys in README.md")

// providers are the scenario vocabularies the READMEs document.
var providers = []string{"khipu", "hambit", "payu"}

// TestScenarioKeysDocumented: each provider README's table of decision
// points names, for every point, exactly the `then` keys the loader takes
// there (shared and the provider's own, scenarios.PointSpec.ThenKeys).
func TestScenarioKeysDocumented(t *testing.T) {
	for _, name := range providers {
		spec, ok := scenarios.Default.Provider(name)
		if !ok {
			t.Fatalf("provider %s registered no scenario vocabulary", name)
		}
		path := filepath.Join(name, "README.md")
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rows := keyRows(section(string(src), "## Scenarios"))
		for _, pt := range spec.Points {
			var want []string
			for _, k := range pt.ThenKeys() {
				want = append(want, k.Name)
			}
			got, ok := rows[pt.Name]
			if !ok {
				t.Errorf("%s: no row for the %s point; its keys are %v", path, pt.Name, want)
				continue
			}
			delete(rows, pt.Name)
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: the %s row names keys %v; the loader takes %v", path, pt.Name, got, want)
			}
		}
		for p := range rows {
			t.Errorf("%s: a row for %q, which is no %s decision point (%v)", path, p, name, spec.PointNames())
		}
	}
}

// TestScenarioKeysTable: README.md's table of every point and its keys is
// what the registered vocabularies render (go test ./emulators -run
// TestScenarioKeysTable -update rewrites it).
func TestScenarioKeysTable(t *testing.T) {
	const begin, end = "<!-- then-keys:begin", "<!-- then-keys:end -->"
	var b strings.Builder
	for _, name := range providers {
		spec, _ := scenarios.Default.Provider(name)
		b.WriteString("\n**" + name + "**\n\n" + spec.KeysTable())
	}
	want := b.String() + "\n"
	path := filepath.Join("..", "README.md")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("%s: no %q … %q block", path, begin, end)
	}
	i += strings.Index(s[i:], "-->") + len("-->\n")
	if got := s[i:j]; got != want {
		if *update {
			if err := os.WriteFile(path, []byte(s[:i]+want+s[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("%s: the table of then keys differs from the vocabularies; run go test ./emulators -run TestScenarioKeysTable -update.\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// section returns the part of a Markdown document under heading, up to
// the next heading of the same level.
func section(doc, heading string) string {
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		return ""
	}
	rest := doc[i+len(heading)+2:]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// keyRows reads the table rows of a README's Scenarios section: point →
// the keys its last cell names. A key is a backticked span at the top
// level of the cell (not inside parentheses), up to its colon:
// "`outcome: a\|b` (note `x`), `delay`" names outcome and delay.
func keyRows(sec string) map[string][]string {
	rows := map[string][]string{}
	lines := strings.Split(sec, "\n")
	for i, line := range lines {
		line = strings.TrimSpace(line)
		header := i+1 < len(lines) && strings.HasPrefix(lines[i+1], "|-")
		if !strings.HasPrefix(line, "| `") || header {
			continue
		}
		cells := strings.Split(strings.ReplaceAll(line, `\|`, "\x00"), "|")
		cells = cells[1 : len(cells)-1]
		point, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(cells[0]), "`"), "`")
		rows[point] = topLevelKeys(cells[len(cells)-1])
	}
	return rows
}

func topLevelKeys(cell string) []string {
	var out []string
	depth := 0
	for i := 0; i < len(cell); i++ {
		switch cell[i] {
		case '(':
			depth++
		case ')':
			depth--
		case '`':
			j := strings.IndexByte(cell[i+1:], '`')
			if j < 0 {
				return out
			}
			if depth == 0 {
				name, _, _ := strings.Cut(cell[i+1:i+1+j], ":")
				out = append(out, strings.TrimSpace(name))
			}
			i += j + 1
		}
	}
	return out
}
