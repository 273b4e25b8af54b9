// Package web holds every page the sandbox serves, embedded in the binary
// so that the payer pages, the dashboard and the demo shop work offline
// (no CDN, fonts or scripts from the network).
//
// Layout: templates/{khipu,hambit,payu,sandbox}/*.html (one template set per
// provider, since html/template names templates by base name) and
// static/{khipu,hambit,payu,sandbox}/… (CSS, images, a little JS).
package web

import (
	"embed"
	"html/template"
	"io/fs"
)

//go:embed templates static
var files embed.FS

// FS returns the embedded files (templates/ and static/ at its root).
func FS() fs.FS { return files }

// Pages parses one set of templates: every templates/{set}/*.html of fsys,
// with funcs available to them.
func Pages(fsys fs.FS, set string, funcs template.FuncMap) (*template.Template, error) {
	return template.New(set).Funcs(funcs).ParseFS(fsys, "templates/"+set+"/*.html")
}

// Static returns the static files of one set (static/{set}), to be served
// under the set's own path.
func Static(fsys fs.FS, set string) (fs.FS, error) {
	return fs.Sub(fsys, "static/"+set)
}
