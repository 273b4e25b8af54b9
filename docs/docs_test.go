package docs

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// providerDocs are the per-provider reference documents of this directory.
var providerDocs = []string{"khipu", "hambit", "payu"}

// scanned lists the file name endings whose text is checked for citations:
// source, READMEs, templates, scripts and test data.
var scanned = []string{".go", ".md", ".html", ".js", ".css", ".yaml", ".yml", ".json", ".txt", ".sh", "run"}

// skippedDirs are never walked: VCS data, installed npm packages and test
// artifacts are not the project's text.
var skippedDirs = []string{".git", "node_modules", "test-artifacts"}

// Citation grammar. A line is read left to right; each token either names
// a document (which the bare "§" numbers after it on the same line refer to)
// or is a "§N.M" number.
var (
	// token matches, in order of the alternatives: a provider document name
	// (khipu.md, docs/payu.md, providers/hambit.md, with or without
	// backticks), an external section reference (Hambit's "CL §", or a URL
	// directly followed by "§"), the design document with a section name,
	// and a bare section number.
	token = regexp.MustCompile("(?:(?:docs|providers)/)?(khipu|hambit|payu)\\.md" +
		"|(\\bCL\\b|https?://[^\\s|)]+)[ `]*§" +
		"|(?i:docs/design\\.md),\\s*\"?([^\"]*)" +
		"|§ ?([0-9]+(?:\\.[0-9]+)*)")
	// sharedRef matches text that points at the shared specification
	// folder instead of docs/: the upper-case DESIGN.md or providers/*.md.
	sharedRef = regexp.MustCompile(`\bDESIGN\.md\b|\bproviders/(?:khipu|hambit|payu|\*)\.md\b|/work/shared|\.\./shared`)
	// heading captures the section number of a Markdown heading such as
	// "## 6. Endpoints" or "### 5.2 Value rendering".
	heading = regexp.MustCompile(`^#{2,4} ([0-9]+(?:\.[0-9]+)*)\.? `)
	// namedHeading captures any heading's text (design.md's sections are
	// cited by name).
	namedHeading = regexp.MustCompile(`^#{2,4} (.+?)\s*$`)
)

// docIndex is what the documents of this directory define.
type docIndex struct {
	sections map[string]map[string]bool // provider → section numbers
	design   []string                   // docs/design.md heading names
}

func loadIndex(t *testing.T) docIndex {
	t.Helper()
	idx := docIndex{sections: map[string]map[string]bool{}}
	for _, p := range providerDocs {
		b, err := os.ReadFile(p + ".md")
		if err != nil {
			t.Fatal(err)
		}
		idx.sections[p] = numberedSections(b)
	}
	b, err := os.ReadFile("design.md")
	if err != nil {
		t.Fatal(err)
	}
	idx.design = headingNames(b)
	return idx
}

func numberedSections(b []byte) map[string]bool {
	out := map[string]bool{}
	for line := range strings.Lines(string(b)) {
		if m := heading.FindStringSubmatch(line); m != nil {
			out[m[1]] = true
		}
	}
	return out
}

func headingNames(b []byte) []string {
	var out []string
	for line := range strings.Lines(string(b)) {
		if m := namedHeading.FindStringSubmatch(line); m != nil {
			out = append(out, strings.Trim(m[1], "`"))
		}
	}
	// Longest first, so that a name that starts with a shorter one wins.
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// defaultDoc is the provider document that a bare "§" in file rel (a
// slash-separated path from the repository root) refers to: the provider
// package the file belongs to (its code, testdata, README) or the
// provider's templates and static assets under web/. It is "" outside
// them: there a citation must name its document.
func defaultDoc(rel string) string {
	parts := strings.Split(rel, "/")
	switch {
	case len(parts) >= 3 && (parts[0] == "emulators" || parts[0] == "web") && slices.Contains(providerDocs, parts[1]):
		return parts[1] // emulators/khipu/…, web/README-level khipu/…
	case len(parts) >= 4 && parts[0] == "web" && slices.Contains(providerDocs, parts[2]):
		return parts[2] // web/templates/khipu/…, web/static/khipu/…
	case len(parts) == 2 && parts[0] == "docs":
		// docs/khipu.md and its companions such as docs/khipu-decisions.md.
		p, _, _ := strings.Cut(strings.TrimSuffix(parts[1], ".md"), "-")
		if slices.Contains(providerDocs, p) {
			return p
		}
	}
	return ""
}

// checkText returns one problem per citation of text (the content of file
// rel) that does not resolve, each as "rel:line: reason".
func checkText(rel string, text []byte, idx docIndex) []string {
	var problems []string
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if m := sharedRef.FindString(line); m != "" && rel != "docs/README.md" { // the README states this rule
			problems = append(problems, fmt.Sprintf("%s:%d: %q points outside the repository; cite docs/ instead", rel, n, m))
		}
		if !strings.Contains(line, "§") && !strings.Contains(strings.ToLower(line), "docs/design.md,") {
			continue
		}
		doc := defaultDoc(rel) // "" none, "-" external, else a provider
		for _, m := range token.FindAllStringSubmatch(line, -1) {
			switch {
			case m[1] != "":
				doc = m[1]
			case m[2] != "":
				doc = "-"
			case m[0] != "" && strings.HasPrefix(strings.ToLower(m[0]), "docs/design.md"):
				name := m[3]
				if !slices.ContainsFunc(idx.design, func(h string) bool {
					return len(name) >= len(h) && strings.EqualFold(name[:len(h)], h)
				}) {
					problems = append(problems, fmt.Sprintf("%s:%d: docs/design.md has no section that starts %q", rel, n, name))
				}
			case m[4] != "":
				switch doc {
				case "-":
				case "":
					problems = append(problems, fmt.Sprintf("%s:%d: §%s names no document; write khipu.md, hambit.md or payu.md before it", rel, n, m[4]))
				default:
					if !idx.sections[doc][m[4]] {
						problems = append(problems, fmt.Sprintf("%s:%d: §%s does not exist in docs/%s.md", rel, n, m[4], doc))
					}
				}
			}
		}
	}
	return problems
}

// TestCitationsResolve walks the repository and checks every citation of
// every scanned file against the documents of this directory.
func TestCitationsResolve(t *testing.T) {
	idx := loadIndex(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if slices.Contains(skippedDirs, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !slices.ContainsFunc(scanned, func(ext string) bool { return strings.HasSuffix(d.Name(), ext) }) {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "docs/docs_test.go" {
			return nil // its test cases are made-up citations on purpose
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		for _, problem := range checkText(rel, b, idx) {
			t.Error(problem)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("scanned only %d files from %s; the walk is broken", files, root)
	}
}

// TestCheckText proves that the checker fails on what it must refuse and
// accepts the citation forms the repository uses.
func TestCheckText(t *testing.T) {
	idx := loadIndex(t)
	tests := []struct {
		file, text string
		want       []string // substrings, one per expected problem, in order
	}{
		{"emulators/khipu/x.go", "// §5.2 then §99.9", []string{"emulators/khipu/x.go:1: §99.9 does not exist in docs/khipu.md"}},
		{"emulators/payu/x.go", "// ok §7.4\n// made up §7.99", []string{"x.go:2: §7.99 does not exist in docs/payu.md"}},
		{"emulators/hambit/x.go", "// CL §9.9, §8.8 are Hambit's own page", nil},
		{"emulators/hambit/testdata/README.md", "| `providers/hambit.md` §5.6; CL §6.2 |", []string{"points outside the repository"}},
		{"emulators/hambit/testdata/README.md", "| `docs/hambit.md` §5.6, §10.3; CL §6.2, https://docs.hambit.co/chile.html §5.2 |", nil},
		{"emulators/sandbox/x.go", "// payu.md §11.2 and khipu.md §13.2", nil},
		{"emulators/sandbox/x.go", "// the §13.2 vector", []string{"§13.2 names no document"}},
		{"emulators/sandbox/x.go", "// khipu.md §6–§8 and payu.md §19", nil},
		{"emulators/sandbox/x.go", "// hambit.md §17", []string{"§17 does not exist in docs/hambit.md"}},
		{"cmd/sandbox/x.go", "// (docs/design.md, Time): waits", nil},
		{"cmd/sandbox/x.go", "// (docs/design.md, \"PayU and Khipu: the bank-transfer interface\")", nil},
		{"cmd/sandbox/x.go", "// (docs/design.md, Made-up section)", []string{"docs/design.md has no section that starts \"Made-up section)\""}},
		{"cmd/sandbox/x.go", "// the budgets of DESIGN.md", []string{"\"DESIGN.md\" points outside the repository"}},
		{"web/templates/payu/x.html", "<!-- §7.6 -->", nil},
		{"web/templates/payu/x.html", "<!-- §7.8 -->", []string{"§7.8 does not exist in docs/payu.md"}},
		{"docs/khipu.md", "see §5.5 and payu.md §7.7", nil},
		{"docs/khipu.md", "as ../shared/providers/khipu.md says", []string{"points outside the repository"}},
	}
	for _, tc := range tests {
		got := checkText(tc.file, []byte(tc.text), idx)
		if len(got) != len(tc.want) {
			t.Errorf("%s %q: got %d problems %q, want %d", tc.file, tc.text, len(got), got, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s %q: problem %q does not contain %q", tc.file, tc.text, got[i], w)
			}
		}
	}
}

// TestDefaultDoc pins the bare-"§" rule documented in README.md.
func TestDefaultDoc(t *testing.T) {
	for rel, want := range map[string]string{
		"emulators/khipu/handler.go":               "khipu",
		"emulators/hambit/testdata/README.md":      "hambit",
		"emulators/payu/testdata/signatures/x.txt": "payu",
		"web/templates/hambit/cashier.html":        "hambit",
		"web/static/khipu/khipu.js":                "khipu",
		"docs/payu.md":                             "payu",
		"docs/khipu-decisions.md":                  "khipu",
		"emulators/sandbox/demo.go":                "",
		"README.md":                                "",
		"cmd/sandbox/main.go":                      "",
		"docs/design.md":                           "",
		path.Join("emulators", "internal", "x.go"): "",
	} {
		if got := defaultDoc(rel); got != want {
			t.Errorf("defaultDoc(%q) = %q, want %q", rel, got, want)
		}
	}
}
