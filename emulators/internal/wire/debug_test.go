package wire_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

func TestHeaderSafe(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain ASCII, 100% kept", "plain ASCII, 100% kept"},
		{"a=é&b=\n", "a=%C3%A9&b=%0A"},
		{"tab\there\r\x00\x7f~", "tab%09here%0D%00%7F~"},
		{"\xff", "%FF"},
	}
	for _, tc := range tests {
		if got := wire.HeaderSafe(tc.in); got != tc.want {
			t.Errorf("HeaderSafe(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzHeaderSafe: the result is always a valid header value (printable
// ASCII only) and decodes back to the input.
func FuzzHeaderSafe(f *testing.F) {
	f.Add("a=é&b=\n")
	f.Add("%41")
	f.Fuzz(func(t *testing.T, s string) {
		got := wire.HeaderSafe(s)
		for i := 0; i < len(got); i++ {
			if got[i] < 0x20 || got[i] > 0x7e {
				t.Fatalf("HeaderSafe(%q) = %q has byte %#x", s, got, got[i])
			}
		}
		if !strings.Contains(s, "%") {
			if back, err := url.PathUnescape(got); err != nil || back != s {
				t.Fatalf("HeaderSafe(%q) = %q does not decode back (%q, %v)", s, got, back, err)
			}
		}
	})
}
