package emulators_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOneHop keeps the behaviours one looks for from a routes.go file
// within one hop of it: the target is named in routes.go itself (hop 0) or
// in a function routes.go names (hop 1). Handlers call the thing they
// stand for directly rather than through layers.
//
// A target is a function or method of the package, by name
// ("authV2"), or a function of an imported package ("then.Schedule").
func TestOneHop(t *testing.T) {
	tests := []struct {
		file, target, what string
	}{
		{"khipu/routes.go", "authV2", "the Khipu 2.0 signature check (khipu.md §5)"},
		{"khipu/routes.go", "then.Schedule", "a scenario's delay taking effect (the robot payer, from handleCreate)"},
		{"hambit/routes.go", "then.Schedule", "a scenario's delay taking effect (the robot payer, from handleCreateCollection)"},
		{"sandbox/routes.go", "advance", "the sandbox clock's advance"},
		{"sandbox/routes.go", "objectPage", "the dashboard's object page"},
		{"hambit/routes.go", "then.Callback", "Hambit's callback retry schedule (callbackPolicy, the outbound route)"},
		{"khipu/routes.go", "then.Callback", "Khipu's notification retry schedule"},
		{"payu/routes.go", "then.Callback", "PayU's confirmation retry schedule"},
		{"payu/routes.go", "decodeXML", "PayU's XML decoding (payu.md §3.1, from the pipeline's auth hook)"},
		{"payu/routes.go", "decodeJSON", "PayU's JSON decoding"},
		{"payu/routes.go", "then.Schedule", "a scenario's delay taking effect (the robot payer, from the submit path)"},
	}
	for _, tt := range tests {
		if h := hops(t, tt.file, tt.target); h < 0 || h > 1 {
			t.Errorf("%s: %s (%s) is %s from it; want at most one hop", tt.file, tt.what, tt.target, hopText(h))
		}
	}
}

// TestOneHopCountsHops: the measure itself, on targets whose distance is
// known. submitCoordinates is two hops from Khipu's routes.go
// (handleSimplifiedStep → advance → submitCoordinates), so
// TestOneHop would refuse it.
func TestOneHopCountsHops(t *testing.T) {
	tests := []struct {
		file, target string
		want         int
	}{
		{"khipu/routes.go", "methodNotAllowed", 0},
		{"khipu/routes.go", "api", 0},
		{"khipu/routes.go", "authV2", 1},
		{"khipu/routes.go", "submitCoordinates", 2},
		{"khipu/routes.go", "coordinatesOutcome", 3},
		{"khipu/routes.go", "noSuchFunction", -1},
		{"hambit/routes.go", "then.Callback", 0},
		{"hambit/routes.go", "payCollection", 1},
	}
	for _, tt := range tests {
		got := hops(t, tt.file, tt.target)
		if got != tt.want {
			t.Errorf("%s → %s: %s, want %s", tt.file, tt.target, hopText(got), hopText(tt.want))
		}
		if ok := got >= 0 && got <= 1; ok != (tt.want >= 0 && tt.want <= 1) {
			t.Errorf("%s → %s: TestOneHop would say %v", tt.file, tt.target, ok)
		}
	}
}

func hopText(h int) string {
	switch h {
	case -1:
		return "out of reach"
	case 1:
		return "1 hop"
	}
	return fmt.Sprintf("%d hops", h)
}

// hops returns how many function hops separate the target from file
// (0: named in the file), or -1 when it is not reached within the
// package's functions. Names are matched without types: a method is
// known by its name, whatever its receiver.
func hops(t *testing.T, file, target string) int {
	t.Helper()
	dir := filepath.Dir(file)
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	funcs := map[string][]*ast.FuncDecl{} // name → declarations
	var start *ast.File
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if name == filepath.Base(file) {
			start = f
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok {
				funcs[fd.Name.Name] = append(funcs[fd.Name.Name], fd)
			}
		}
	}
	if start == nil {
		t.Fatalf("no %s", file)
	}
	seen := map[string]bool{}
	frontier := names(start)
	for hop := 0; len(frontier) > 0; hop++ {
		if frontier[target] {
			return hop
		}
		next := map[string]bool{}
		for n := range frontier {
			if seen[n] {
				continue
			}
			seen[n] = true
			for _, fd := range funcs[n] {
				for m := range names(fd) {
					if !seen[m] {
						next[m] = true
					}
				}
			}
		}
		frontier = next
	}
	return -1
}

// names lists what n names: identifiers, selected names (s.handleX,
// (*Service).handleX) and package-qualified names (then.Schedule, also
// under their bare name).
func names(n ast.Node) map[string]bool {
	out := map[string]bool{}
	ast.Inspect(n, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.SelectorExpr:
			out[x.Sel.Name] = true
			if id, ok := x.X.(*ast.Ident); ok {
				out[id.Name+"."+x.Sel.Name] = true
			}
		case *ast.Ident:
			out[x.Name] = true
		}
		return true
	})
	return out
}
