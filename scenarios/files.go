package scenarios

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// IsScenarioFile reports whether a directory entry of that name is read as
// a scenario file: *.yaml or *.yml, not hidden.
func IsScenarioFile(name string) bool {
	return !strings.HasPrefix(name, ".") && (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml"))
}

// DirFiles lists the scenario files of dir, sorted, as `serve
// --scenarios DIR` reads them.
func DirFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, de := range entries {
		if !de.IsDir() && IsScenarioFile(de.Name()) {
			out = append(out, filepath.Join(dir, de.Name()))
		}
	}
	slices.Sort(out)
	return out, nil
}

// FileResult is the verdict on one scenario file.
type FileResult struct {
	Path     string
	Scenario *Scenario // nil when Err is set
	Err      error     // a *LoadError, or the file could not be read
	// Named says the file has no `name:` and is named after its file.
	NamedAfterFile bool
}

// LoadFiles loads scenario files with the rules of the scenarios
// directory: each file is loaded on its own (Load), and a scenario name
// already defined by an earlier file is refused. `sandbox scenarios check`
// and `serve --scenarios DIR` both use it, so they agree on every file.
// A path naming a directory stands for its scenario files (DirFiles).
func LoadFiles(paths []string, reg *Registry) []FileResult {
	var out []FileResult
	owner := map[string]string{}
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			files, err := DirFiles(p)
			if err != nil {
				out = append(out, FileResult{Path: p, Err: fileProblem(p, err)})
				continue
			}
			if len(files) == 0 {
				out = append(out, FileResult{Path: p, Err: &LoadError{Problems: []Problem{{File: p, Msg: "no *.yaml or *.yml scenario files in this directory"}}}})
			}
			for _, f := range files {
				out = append(out, loadOne(f, reg, owner))
			}
			continue
		}
		out = append(out, loadOne(p, reg, owner))
	}
	return out
}

func loadOne(path string, reg *Registry, owner map[string]string) FileResult {
	data, err := os.ReadFile(path)
	if err != nil {
		return FileResult{Path: path, Err: fileProblem(path, err)}
	}
	s, err := Load(path, data, reg)
	if err != nil {
		return FileResult{Path: path, Err: err}
	}
	if other, ok := owner[s.Name]; ok {
		return FileResult{Path: path, Err: duplicateName(path, s.Name, other)}
	}
	owner[s.Name] = path
	return FileResult{Path: path, Scenario: s, NamedAfterFile: s.namedAfterFile}
}

// fileProblem reports a file that cannot be read, without repeating its path.
func fileProblem(path string, err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		err = pe.Err
	}
	return &LoadError{Problems: []Problem{{File: path, Msg: "cannot read: " + err.Error()}}}
}

// duplicateName is the refusal of a second file defining a scenario name.
func duplicateName(path, name, other string) error {
	return &LoadError{Problems: []Problem{{File: path, Line: 1, Msg: fmt.Sprintf("scenario %q is already defined by %s (scenario names must be unique across files)", name, other)}}}
}
