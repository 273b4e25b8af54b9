package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// splitFile takes the FILE argument of export and import out of args
// (anywhere among the flags) and returns it with the flags left.
func splitFile(cmd string, args []string) (string, []string, error) {
	var file string
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-" || !strings.HasPrefix(a, "-"):
			if file != "" {
				return "", nil, fmt.Errorf("sandbox %s takes one FILE, got %q and %q", cmd, file, a)
			}
			file = a
		default:
			rest = append(rest, a)
			// a flag's value given as the next argument
			if !strings.Contains(a, "=") && i+1 < len(args) && !isBoolFlag(a) && !strings.HasPrefix(args[i+1], "-") {
				i++
				rest = append(rest, args[i])
			}
		}
	}
	if file == "" {
		return "", nil, fmt.Errorf("usage: sandbox %s [--data-dir DIR] FILE (- for standard %s)", cmd, map[string]string{"export": "output", "import": "input"}[cmd])
	}
	return file, rest, nil
}

// isBoolFlag reports whether the flag a (as written, with its dashes)
// takes no value.
func isBoolFlag(a string) bool {
	name := strings.TrimLeft(a, "-")
	if name == "replace" || name == "h" || name == "help" {
		return true
	}
	for _, s := range settings {
		if s.flag == name {
			return s.kind == boolFlag
		}
	}
	return false
}

// exportCmd writes the state store of the data directory as one JSON
// document: sandbox export [--data-dir DIR] FILE.
func exportCmd(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	file, rest, err := splitFile("export", args)
	if err != nil {
		return err
	}
	cfg, err := parseConfigFor("export", rest, getenv, stderr, nil)
	if err != nil {
		return err
	}
	if file == "-" {
		return sandbox.ExportState(cfg.DataDir, stdout)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := sandbox.ExportState(cfg.DataDir, f); err != nil {
		f.Close()
		os.Remove(file)
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: state of %s exported\n", file, cfg.DataDir)
	return nil
}

// importCmd replaces the state store of the data directory with a
// document written by export: sandbox import [--data-dir DIR] [--replace] FILE.
func importCmd(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	file, rest, err := splitFile("import", args)
	if err != nil {
		return err
	}
	var replace bool
	cfg, err := parseConfigFor("import", rest, getenv, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&replace, "replace", false, "replace the state the data directory already holds")
	})
	if err != nil {
		return err
	}
	in := stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	n, err := sandbox.ImportState(cfg.DataDir, in, replace)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d records imported into %s\n", file, n, cfg.DataDir)
	return nil
}
