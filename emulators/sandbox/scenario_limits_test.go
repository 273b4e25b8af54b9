package sandbox_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/paysandbox/sandbox/emulators/sandbox"
	"github.com/paysandbox/sandbox/scenarios"
)

// Issue #13, class 8: uploads are capped in count and size, can be
// deleted, and cannot silently shadow a built-in.
func TestScenarioUploadLimits(t *testing.T) {
	sb := newSandbox(t, nil, sandbox.Options{})
	h := sb.Handler()
	yamlCT := "Content-Type: application/yaml"
	// Shadowing a built-in needs replace: true.
	code, body, _ := do(t, h, "POST", "/_sandbox/api/scenarios", "name: default\nrules:\n  - {provider: khipu, on: pay, then: {outcome: abandon}}\n", yamlCT)
	if code != 409 || !strings.Contains(body, "replace: true") {
		t.Errorf("shadowing default = %d %s", code, body)
	}
	if s, _ := sb.Scenarios().Lookup("default"); s.Source != "builtin" {
		t.Errorf("default is now %s", s.Source)
	}
	code, body, _ = do(t, h, "POST", "/_sandbox/api/scenarios", "name: default\nreplace: true\nrules: []\n", yamlCT)
	if s, _ := sb.Scenarios().Lookup("default"); code != 201 || s.Source != "upload" {
		t.Errorf("replace: true = %d %s", code, body)
	}
	// Deleting the upload brings the built-in back; built-ins cannot be deleted.
	if code, body, _ := do(t, h, "DELETE", "/_sandbox/api/scenarios/default", ""); code != 200 {
		t.Errorf("DELETE default upload = %d %s", code, body)
	}
	if s, _ := sb.Scenarios().Lookup("default"); s.Source != "builtin" {
		t.Errorf("after delete default is %s", s.Source)
	}
	if code, _, _ := do(t, h, "DELETE", "/_sandbox/api/scenarios/default", ""); code != 409 {
		t.Errorf("DELETE a built-in = %d", code)
	}
	if code, _, _ := do(t, h, "DELETE", "/_sandbox/api/scenarios/nope", ""); code != 404 {
		t.Errorf("DELETE unknown = %d", code)
	}
	// Count cap.
	for i := range scenarios.MaxUploads + 3 {
		code, body, _ := do(t, h, "POST", "/_sandbox/api/scenarios", fmt.Sprintf("name: up-%d\nrules: []\n", i), yamlCT)
		if want := 201; i >= scenarios.MaxUploads {
			if code != 409 || !strings.Contains(body, "DELETE") {
				t.Errorf("upload %d over the cap = %d %s", i, code, body)
			}
		} else if code != want {
			t.Errorf("upload %d = %d %s", i, code, body)
		}
	}
	// Replacing an existing upload does not count twice; deleting frees room.
	if code, _, _ := do(t, h, "POST", "/_sandbox/api/scenarios", "name: up-0\ndescription: again\nrules: []\n", yamlCT); code != 201 {
		t.Errorf("replacing an upload at the cap = %d", code)
	}
	do(t, h, "DELETE", "/_sandbox/api/scenarios/up-1", "")
	if code, _, _ := do(t, h, "POST", "/_sandbox/api/scenarios", "name: fresh\nrules: []\n", yamlCT); code != 201 {
		t.Errorf("upload after a delete = %d", code)
	}
	// Size cap: large descriptions fill MaxUploadBytes before the count cap.
	for i := range 32 {
		do(t, h, "DELETE", fmt.Sprintf("/_sandbox/api/scenarios/up-%d", i), "")
	}
	big := strings.Repeat("x", 900<<10)
	refused := 0
	for i := range 8 {
		code, _, _ := do(t, h, "POST", "/_sandbox/api/scenarios", fmt.Sprintf("name: big-%d\ndescription: %s\nrules: []\n", i, big), yamlCT)
		if code == 409 {
			refused++
		}
	}
	if refused == 0 {
		t.Error("8 uploads of 900 KiB were all accepted")
	}
	_, body, _ = do(t, h, "GET", "/_sandbox/api/scenarios", "")
	if len(body) > 3*scenarios.MaxUploadBytes {
		t.Errorf("GET /scenarios answers %d bytes", len(body))
	}
	// Regex conditions are capped in size.
	long := strings.Repeat("a", scenarios.MaxRegex+1)
	code, body, _ = do(t, h, "POST", "/_sandbox/api/scenarios", "name: re\nrules:\n  - {provider: khipu, on: pay, when: {subject: {regex: \""+long+"\"}}, then: {outcome: abandon}}\n", yamlCT)
	if code != 400 || !strings.Contains(body, "at most") {
		t.Errorf("long regex = %d %.200s", code, body)
	}
}
