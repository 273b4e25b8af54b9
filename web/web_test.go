package web_test

import (
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/paysandbox/sandbox/web"
)

// networkLoad matches a page or stylesheet loading a resource from another
// origin: the pages must work offline (no CDN, fonts or scripts).
var networkLoad = regexp.MustCompile(`(?i)(<script[^>]*\ssrc\s*=|<link[^>]*\shref\s*=|<img[^>]*\ssrc\s*=|<iframe[^>]*\ssrc\s*=|<source[^>]*\ssrc\s*=|url\(|@import)\s*["']?\s*(https?:)?//`)

func TestNothingLoadsFromTheNetwork(t *testing.T) {
	err := fs.WalkDir(web.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch path.Ext(p) {
		case ".html", ".css", ".js", ".svg":
		default:
			return nil
		}
		b, err := fs.ReadFile(web.FS(), p)
		if err != nil {
			return err
		}
		if m := networkLoad.Find(b); m != nil {
			t.Errorf("%s loads from the network: %q", p, m)
		}
		if path.Ext(p) == ".js" && regexp.MustCompile(`(?i)\b(import|fetch|EventSource)\s*\(\s*["']https?://`).Match(b) {
			t.Errorf("%s fetches from another origin", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStaticFilesAreSmall(t *testing.T) {
	const perFile = 100 << 10
	total := map[string]int{}
	fs.WalkDir(web.FS(), "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > perFile {
			t.Errorf("%s is %d bytes, over %d", p, info.Size(), perFile)
		}
		total[strings.Split(p, "/")[1]] += int(info.Size())
		return nil
	})
	// The dashboard's script and style load on every dashboard page.
	if n := total["sandbox"]; n == 0 || n > 60<<10 {
		t.Errorf("static/sandbox holds %d bytes; want some, at most 60 KiB", n)
	}
}

// The embed directive skips files starting with "_" or ".": a partial named
// so would silently vanish from the binary.
func TestNoTemplateIsSkippedByEmbed(t *testing.T) {
	for _, dir := range []string{"templates", "static"} {
		err := fs.WalkDir(os.DirFS("."), dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if name := d.Name(); p != dir && (strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".")) {
				t.Errorf("%s is not embedded (names starting with _ or . are skipped)", p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestSandboxSetHasEveryPage(t *testing.T) {
	for _, name := range []string{"layout.html", "objects.html", "object.html", "journal.html", "entry.html",
		"scenarios.html", "accounts.html", "clock.html", "demo_shop.html", "demo_order.html"} {
		if _, err := fs.Stat(web.FS(), "templates/sandbox/"+name); err != nil {
			t.Errorf("templates/sandbox/%s: %v", name, err)
		}
	}
	for _, name := range []string{"dashboard.js", "sandbox.css"} {
		if _, err := fs.Stat(web.FS(), "static/sandbox/"+name); err != nil {
			t.Errorf("static/sandbox/%s: %v", name, err)
		}
	}
}

func ExamplePages() {
	fsys := fstest.MapFS{
		"templates/shop/layout.html": {Data: []byte(`{{define "header"}}<h1>{{.}}</h1>{{end}}`)},
		"templates/shop/page.html":   {Data: []byte(`{{define "page.html"}}{{template "header" shout .}}{{end}}`)},
	}
	t, err := web.Pages(fsys, "shop", template.FuncMap{"shout": strings.ToUpper})
	if err != nil {
		panic(err)
	}
	var b strings.Builder
	t.ExecuteTemplate(&b, "page.html", "tienda")
	fmt.Println(b.String())
	// Output: <h1>TIENDA</h1>
}
