package testenv

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// recordingTB records how Missing ends a test instead of ending it.
type recordingTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordingTB) Helper()                           {}
func (r *recordingTB) Skipf(format string, args ...any)  { r.skipped = fmt.Sprintf(format, args...) }
func (r *recordingTB) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestMissingSkipsOrFailsWithTheInstallStep(t *testing.T) {
	for _, tc := range []struct {
		env      string
		wantFail bool
	}{{"", false}, {"0", false}, {"1", true}, {"yes", true}} {
		t.Run("SANDBOX_REQUIRE_ALL="+tc.env, func(t *testing.T) {
			t.Setenv(RequireAllEnv, tc.env)
			r := &recordingTB{TB: t}
			Missing(r, "Chromium", "apt-get install chromium")
			got := r.skipped
			if tc.wantFail {
				got = r.failed
				if r.skipped != "" {
					t.Errorf("skipped although %s=%q: %s", RequireAllEnv, tc.env, r.skipped)
				}
			} else if r.failed != "" {
				t.Errorf("failed although %s=%q: %s", RequireAllEnv, tc.env, r.failed)
			}
			if !strings.Contains(got, "Chromium is missing: apt-get install chromium") {
				t.Errorf("message %q does not name the install step", got)
			}
		})
	}
}

// CI sets SANDBOX_REQUIRE_ALL=1: from then on a missing tool fails the test
// that needs it instead of skipping it.
func ExampleRequireAll() {
	os.Setenv(RequireAllEnv, "1")
	defer os.Unsetenv(RequireAllEnv)
	fmt.Println(RequireAll())
	// Output: true
}
