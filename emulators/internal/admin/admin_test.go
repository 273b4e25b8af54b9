package admin_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
)

func TestDecodeParams(t *testing.T) {
	type params struct {
		Outcome string `json:"outcome"`
	}
	tests := []struct {
		raw     string
		want    string
		invalid bool
	}{
		{"", "", false},
		{"  \n", "", false},
		{`{}`, "", false},
		{`{"outcome":"approve"}`, "approve", false},
		{`{"outcom":"approve"}`, "", true}, // a typo is an error, not ignored
		{`{"outcome":1}`, "", true},
		{`[`, "", true},
	}
	for _, tt := range tests {
		var p params
		err := admin.DecodeParams(json.RawMessage(tt.raw), &p)
		if tt.invalid {
			var e *emulators.Error
			if !errors.As(err, &e) || e.Kind != emulators.Invalid {
				t.Errorf("%q: got %v, want an Invalid error", tt.raw, err)
			}
			continue
		}
		if err != nil || p.Outcome != tt.want {
			t.Errorf("%q: got %+v, %v; want outcome %q", tt.raw, p, err, tt.want)
		}
	}
}
