package scenarios

import (
	"embed"
	"io/fs"
)

//go:embed builtin/*.yaml
var builtinFiles embed.FS

// builtinFS returns the built-in scenario files, embedded in the binary.
func builtinFS() fs.FS {
	sub, err := fs.Sub(builtinFiles, "builtin")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// Builtins returns the built-in scenario files (name.yaml → YAML text), for
// `sandbox scenarios check` and the README.
func Builtins() fs.FS { return builtinFS() }
