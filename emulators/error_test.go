package emulators_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/paysandbox/sandbox/emulators"
)

func TestKindStatus(t *testing.T) {
	tests := []struct {
		kind   emulators.Kind
		status int
	}{
		{emulators.Internal, 500},
		{emulators.Invalid, 400},
		{emulators.Unauthorized, 401},
		{emulators.Forbidden, 403},
		{emulators.NotFound, 404},
		{emulators.Conflict, 409},
		{emulators.MethodNotAllowed, 405},
		{emulators.TooLarge, 413},
		{emulators.Unavailable, 503},
		{emulators.UnknownScenario, 400},
		{emulators.Kind(99), 500},
	}
	for _, tc := range tests {
		if got := tc.kind.Status(); got != tc.status {
			t.Errorf("%v.Status() = %d, want %d", tc.kind, got, tc.status)
		}
	}
}

func TestKindOfStatus(t *testing.T) {
	tests := []struct {
		status int
		kind   emulators.Kind
	}{
		{400, emulators.Invalid},
		{401, emulators.Unauthorized},
		{403, emulators.Forbidden},
		{404, emulators.NotFound},
		{405, emulators.MethodNotAllowed},
		{409, emulators.Conflict},
		{413, emulators.TooLarge},
		{415, emulators.Invalid},
		{503, emulators.Unavailable},
		{500, emulators.Internal},
		{502, emulators.Internal},
		{200, emulators.Internal},
	}
	for _, tc := range tests {
		if got := emulators.KindOfStatus(tc.status); got != tc.kind {
			t.Errorf("KindOfStatus(%d) = %v, want %v", tc.status, got, tc.kind)
		}
	}
	// Status and KindOfStatus agree for every kind but the one that shares
	// 400 with Invalid.
	for k := emulators.Internal; k <= emulators.UnknownScenario; k++ {
		if k != emulators.UnknownScenario && emulators.KindOfStatus(k.Status()) != k {
			t.Errorf("KindOfStatus(%v.Status()) = %v", k, emulators.KindOfStatus(k.Status()))
		}
	}
}

func ExampleKind_Status() {
	err := &emulators.Error{Kind: emulators.NotFound, Msg: "no such payment"}
	fmt.Println(err.Kind.Status(), emulators.KindOfStatus(http.StatusMethodNotAllowed))
	// Output: 404 method_not_allowed
}
