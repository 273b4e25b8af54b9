package emulators_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/paysandbox/sandbox/emulators"
)

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		places  int
		invalid bool
	}{
		{"1570", "1570", 0, false},
		{"1570.0", "1570.0", 0, false},
		{"1570.0000", "1570.0000", 0, false},
		{"100.50", "100.50", 1, false},
		{"-3.25", "-3.25", 2, false},
		{"0.0001", "0.0001", 4, false},
		{"000123", "123", 0, false},
		{"123456789012345678", "123456789012345678", 0, false},
		{"1234567890123456789", "", 0, true}, // 19 digits
		{"100,5", "", 0, true},
		{"1.2E7", "", 0, true},
		{"1 000", "", 0, true},
		{"", "", 0, true},
		{"-", "", 0, true},
		{".5", "", 0, true},
		{"5.", "", 0, true},
		{"+5", "", 0, true},
		{"1.2.3", "", 0, true},
	}
	for _, tt := range tests {
		d, err := emulators.ParseDecimal(tt.in)
		if tt.invalid {
			if err == nil {
				t.Errorf("ParseDecimal(%q) = %s, want an error", tt.in, d)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseDecimal(%q): %v", tt.in, err)
			continue
		}
		if d.String() != tt.want || d.Places() != tt.places {
			t.Errorf("ParseDecimal(%q) = %s (places %d), want %s (places %d)", tt.in, d, d.Places(), tt.want, tt.places)
		}
	}
}

func TestRound(t *testing.T) {
	tests := []struct {
		in     string
		places int
		mode   emulators.RoundingMode
		want   string
	}{
		{"10.5", 0, emulators.HalfEven, "10"},
		{"11.5", 0, emulators.HalfEven, "12"},
		{"2.5", 0, emulators.HalfEven, "2"},
		{"2.5", 0, emulators.HalfUp, "3"},
		{"-2.5", 0, emulators.HalfUp, "-3"},
		{"150.25", 1, emulators.HalfEven, "150.2"},
		{"150.35", 1, emulators.HalfEven, "150.4"},
		{"150.251", 1, emulators.HalfEven, "150.3"},
		{"1.01", 0, emulators.Up, "2"},
		{"1.99", 0, emulators.Down, "1"},
		{"150", 2, emulators.HalfUp, "150.00"},
		{"1570", 4, emulators.HalfUp, "1570.0000"},
	}
	for _, tt := range tests {
		if got := emulators.MustDecimal(tt.in).Round(tt.places, tt.mode).String(); got != tt.want {
			t.Errorf("Round(%s, %d, %d) = %s, want %s", tt.in, tt.places, tt.mode, got, tt.want)
		}
	}
}

func TestArithmeticAndCompare(t *testing.T) {
	d := emulators.MustDecimal
	if got := d("100.5").Add(d("0.25")).String(); got != "100.75" {
		t.Errorf("Add = %s", got)
	}
	if got := d("100").Sub(d("0.01")).String(); got != "99.99" {
		t.Errorf("Sub = %s", got)
	}
	if got := d("1000").Mul(d("0.015")).String(); got != "15.000" {
		t.Errorf("Mul = %s", got)
	}
	if !d("1570").Equal(d("1570.0000")) || d("0.1").Cmp(d("0.09")) != 1 || d("-1").Cmp(d("0")) != -1 {
		t.Error("Cmp/Equal compare by value regardless of scale")
	}
	big := d("900000000000000000")
	if got := big.Add(big).Cmp(big); got != 1 {
		t.Errorf("overflowing Add compares %d with its operand, want 1", got)
	}
	if !d("1570.0").IsInteger() || d("1570.5").IsInteger() {
		t.Error("IsInteger")
	}
}

func TestDecimalCodecs(t *testing.T) {
	var v struct {
		A emulators.Decimal `json:"a"`
		B emulators.Decimal `json:"b"`
	}
	if err := json.Unmarshal([]byte(`{"a": 1570.50, "b": "200"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A.String() != "1570.50" || v.B.String() != "200" {
		t.Errorf("JSON: a=%s b=%s (the number's text must be kept)", v.A, v.B)
	}
	var y struct {
		Max emulators.Decimal `yaml:"max"`
	}
	if err := yaml.Unmarshal([]byte("max: 50000\n"), &y); err != nil || y.Max.String() != "50000" {
		t.Errorf("YAML int: %v %s", err, y.Max)
	}
	if err := yaml.Unmarshal([]byte("max: 1e5\n"), &y); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("YAML 1e5: err = %v, want a line-numbered error", err)
	}
}

// AppendText appends String's text, with no allocation of its own (the
// state store calls it on every persisted change).
func TestDecimalAppendText(t *testing.T) {
	for _, d := range []emulators.Decimal{{}, emulators.MustDecimal("0.0050"), emulators.MustDecimal("-1570.50"),
		emulators.MustDecimal("999999999999999999"), emulators.NewDecimal(-9223372036854775808, 0), emulators.NewDecimal(5, 25)} {
		got, err := d.AppendText([]byte("x="))
		if err != nil || string(got) != "x="+d.String() {
			t.Errorf("AppendText(%s) = %q, %v", d, got, err)
		}
	}
	d, buf := emulators.MustDecimal("-1570.5000"), make([]byte, 0, 32)
	if n := testing.AllocsPerRun(100, func() { buf, _ = d.AppendText(buf[:0]) }); n != 0 {
		t.Errorf("AppendText allocates %.0f times into a buffer of room", n)
	}
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "1570.0000", "-3.25", "999999999999999999", "1.2E7", "1,5", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := emulators.ParseDecimal(s)
		if err != nil {
			return
		}
		// Round trip: the text form parses back to the same value and scale.
		back, err := emulators.ParseDecimal(d.String())
		if err != nil || !back.Equal(d) || back.Scale() != d.Scale() {
			t.Fatalf("round trip of %q: %s → %v %v", s, d, back, err)
		}
		for p := range 5 {
			_ = d.Round(p, emulators.HalfEven).String()
		}
	})
}

func ExampleDecimal_Round() {
	amount := emulators.MustDecimal("150.25")
	fmt.Println(amount.Round(1, emulators.HalfEven), amount.Fixed(4))
	// Output: 150.2 150.2500
}
