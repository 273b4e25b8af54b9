package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paysandbox/sandbox/scenarios"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files of testdata/cli/golden")

// TestCLIGolden runs command lines as a user types them and compares what
// they print (stdout, then stderr as main prints it) and their exit status
// with testdata/cli/golden/<name>.txt. go test -run TestCLIGolden -update
// rewrites the files; review the diff.
func TestCLIGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
	}{
		{"help", []string{"-h"}, nil},
		{"help-long", []string{"--help"}, nil},
		{"version", []string{"--version"}, nil},
		{"serve-help", []string{"serve", "-h"}, nil},
		{"scenarios-help", []string{"scenarios", "-h"}, nil},
		{"sign-help", []string{"sign", "-h"}, nil},
		{"healthcheck-help", []string{"healthcheck", "-h"}, nil},
		{"unknown-command", []string{"serv"}, nil},
		{"flag-not-a-number", []string{"--time-scale", "fast"}, nil},
		{"flag-not-a-whole-number", []string{"serve", "--max-objects", "1e5"}, nil},
		{"config-wrong-types", []string{"--config", "testdata/cli/config/wrong-types.yaml"}, nil},
		{"config-every-problem", []string{"--config", "testdata/cli/config/many-problems.yaml", "--log-level", "loud"}, []string{"SANDBOX_TIME_SCALE", "0"}},
		{"config-syntax", []string{"--config", "testdata/cli/config/syntax.yaml"}, nil},
		{"log-format", []string{"--log-format", "xml"}, nil},
		{"check-dir", []string{"scenarios", "check", "testdata/cli/scenarios"}, nil},
		{"check-missing", []string{"scenarios", "check", "testdata/cli/none.yaml"}, nil},
		{"check-nothing", []string{"scenarios", "check"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, env(tt.env...), &stdout, &stderr, nil)
			code := exitCode(err, &stderr)
			got := fmt.Sprintf("$ sandbox %s\n%s%s[exit %d]\n", strings.Join(tt.args, " "), stdout.String(), stderr.String(), code)
			golden := filepath.Join("testdata", "cli", "golden", tt.name+".txt")
			if *updateGolden {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -run TestCLIGolden -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

// TestCheckAndServeAgree: `scenarios check DIR` and `serve --scenarios DIR`
// give every file of a directory the same verdict.
func TestCheckAndServeAgree(t *testing.T) {
	dir := "testdata/cli/scenarios"
	e, err := scenarios.NewEngine(scenarios.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]string{}
	for _, df := range e.Problems() {
		served[df.Path] = problemsText(df.Problems)
	}
	results := scenarios.LoadFiles([]string{dir}, scenarios.Default)
	if len(results) != 4 {
		t.Fatalf("check read %d files, want the directory's 4", len(results))
	}
	for _, r := range results {
		checked := ""
		if r.Err != nil {
			checked = problemsText(scenarios.Problems(r.Err))
		}
		if served[r.Path] != checked {
			t.Errorf("%s: serve says %q, check says %q", r.Path, served[r.Path], checked)
		}
		if r.Err == nil {
			if s, ok := e.Lookup(r.Scenario.Name); !ok || s.Source != r.Path {
				t.Errorf("%s: check accepts scenario %q but serve does not use it", r.Path, r.Scenario.Name)
			}
		}
	}
	if !strings.Contains(served[filepath.Join(dir, "b-orders-again.yaml")], "already defined") {
		t.Errorf("serve accepted a duplicate name: %v", served)
	}
}

func problemsText(ps []scenarios.Problem) string {
	var lines []string
	for _, p := range ps {
		lines = append(lines, p.String())
	}
	return strings.Join(lines, "\n")
}

func TestHealthURL(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"127.0.0.1:8080", "http://127.0.0.1:8080/healthz", ""},
		{":8080", "http://127.0.0.1:8080/healthz", ""},
		{"0.0.0.0:9000", "http://127.0.0.1:9000/healthz", ""},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/healthz", ""},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080/healthz", ""},
		{"https://sandbox.test/prefix/", "https://sandbox.test/prefix/healthz", ""},
		{"8080", "", `bad address "8080"`},
		{"ftp://x:1", "", `bad address "ftp://x:1"`},
	}
	for _, tt := range tests {
		got, err := healthURL(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("healthURL(%q) = %q, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
