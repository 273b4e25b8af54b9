package emulators

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Decimal is an exact decimal number, coef × 10^-scale. Money never passes
// through float64 in this project: amounts are parsed from the text the
// client sent, compared and rounded here, and formatted back to text.
//
// The zero value is 0. Values carry the scale they were written with, so
// "10000.00" keeps two decimals for echoing; Cmp and Equal compare numeric
// value regardless of scale.
type Decimal struct {
	coef  int64
	scale int32
}

// MaxDecimalDigits is the most digits (both sides of the point) a Decimal holds.
const MaxDecimalDigits = 18

// RoundingMode selects how Round discards digits.
type RoundingMode int

const (
	HalfUp   RoundingMode = iota // ties away from zero (2.5 → 3, -2.5 → -3)
	HalfEven                     // ties to the even neighbour (2.5 → 2, 3.5 → 4): banker's rounding
	Down                         // truncate toward zero
	Up                           // away from zero whenever anything is discarded
)

var pow10 = [...]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// ErrDecimalSyntax is returned (wrapped) for text that is not a plain decimal.
var ErrDecimalSyntax = errors.New("not a decimal number")

// NewDecimal returns coef × 10^-scale.
func NewDecimal(coef int64, scale int) Decimal {
	if scale < 0 {
		scale = 0
	}
	return Decimal{coef: coef, scale: int32(scale)}
}

// DecimalFromInt returns n as a Decimal with no fraction.
func DecimalFromInt(n int64) Decimal { return Decimal{coef: n} }

// ParseDecimal parses the strict form -?[0-9]+(\.[0-9]+)? (no exponent, no
// sign "+", no thousands separators, no comma decimals). At most
// MaxDecimalDigits digits are accepted.
func ParseDecimal(s string) (Decimal, error) {
	if s == "" {
		return Decimal{}, fmt.Errorf("%w: empty", ErrDecimalSyntax)
	}
	neg := false
	i := 0
	if s[0] == '-' {
		neg = true
		i = 1
	}
	var coef uint64
	digits, scale := 0, 0
	sawPoint, sawDigit := false, false
	for ; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= '0' && ch <= '9':
			sawDigit = true
			if digits > 0 || ch != '0' {
				digits++
			}
			if digits > MaxDecimalDigits {
				return Decimal{}, fmt.Errorf("%w: %q has more than %d digits", ErrDecimalSyntax, s, MaxDecimalDigits)
			}
			coef = coef*10 + uint64(ch-'0')
			if sawPoint {
				scale++
				if scale > MaxDecimalDigits {
					return Decimal{}, fmt.Errorf("%w: %q has more than %d decimals", ErrDecimalSyntax, s, MaxDecimalDigits)
				}
			}
		case ch == '.' && !sawPoint && sawDigit && i+1 < len(s):
			sawPoint = true
		default:
			return Decimal{}, fmt.Errorf("%w: %q", ErrDecimalSyntax, s)
		}
	}
	if !sawDigit {
		return Decimal{}, fmt.Errorf("%w: %q", ErrDecimalSyntax, s)
	}
	c := int64(coef)
	if neg {
		c = -c
	}
	return Decimal{coef: c, scale: int32(scale)}, nil
}

// MustDecimal is ParseDecimal for constants in code and tests; it panics on bad input.
func MustDecimal(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// Scale is the number of digits after the point as written.
func (d Decimal) Scale() int { return int(d.scale) }

// Sign returns -1, 0 or +1.
func (d Decimal) Sign() int {
	switch {
	case d.coef < 0:
		return -1
	case d.coef > 0:
		return 1
	}
	return 0
}

// IsZero reports whether d == 0.
func (d Decimal) IsZero() bool { return d.coef == 0 }

// IsInteger reports whether d has no non-zero fraction ("1570.0" is an integer).
func (d Decimal) IsInteger() bool { return d.Places() == 0 }

// Places is the number of significant decimals: the scale without trailing zeros.
func (d Decimal) Places() int {
	return int(d.Normalize().scale)
}

// Normalize removes trailing fractional zeros ("1570.0000" → "1570").
func (d Decimal) Normalize() Decimal {
	for d.scale > 0 && d.coef%10 == 0 {
		d.coef /= 10
		d.scale--
	}
	return d
}

// Int64 returns the integer part, truncated toward zero.
func (d Decimal) Int64() int64 { return d.coef / pow10[d.scale] }

func (d Decimal) big() *big.Int { return big.NewInt(d.coef) }

// fromBig builds a Decimal from coef × 10^-scale, dropping trailing zeros
// (and, only if it still does not fit, rounding half-even) to fit an int64.
func fromBig(coef *big.Int, scale int32) Decimal {
	ten := big.NewInt(10)
	r := new(big.Int)
	for scale > 0 {
		q, m := new(big.Int).QuoRem(coef, ten, r)
		if m.Sign() != 0 {
			break
		}
		coef, scale = q, scale-1
	}
	for !coef.IsInt64() && scale > 0 {
		q, m := new(big.Int).QuoRem(coef, ten, r) // drop one digit, rounding half away from zero
		if m.CmpAbs(big.NewInt(5)) >= 0 {
			if coef.Sign() < 0 {
				q.Sub(q, big.NewInt(1))
			} else {
				q.Add(q, big.NewInt(1))
			}
		}
		coef, scale = q, scale-1
	}
	if !coef.IsInt64() {
		if coef.Sign() < 0 {
			return Decimal{coef: math.MinInt64}
		}
		return Decimal{coef: math.MaxInt64}
	}
	return Decimal{coef: coef.Int64(), scale: scale}
}

// align returns the coefficients of a and b at a common scale.
func align(a, b Decimal) (ac, bc int64, scale int32, ok bool) {
	switch {
	case a.scale == b.scale:
		return a.coef, b.coef, a.scale, true
	case a.scale < b.scale:
		f := pow10[b.scale-a.scale]
		hi, lo := mulOverflows(a.coef, f)
		if hi {
			return 0, 0, 0, false
		}
		return lo, b.coef, b.scale, true
	default:
		f := pow10[a.scale-b.scale]
		hi, lo := mulOverflows(b.coef, f)
		if hi {
			return 0, 0, 0, false
		}
		return a.coef, lo, a.scale, true
	}
}

func mulOverflows(a, b int64) (overflow bool, product int64) {
	if a == 0 || b == 0 {
		return false, 0
	}
	p := a * b
	if p/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return true, 0
	}
	return false, p
}

func bigAt(d Decimal, scale int32) *big.Int {
	c := d.big()
	if scale > d.scale {
		c.Mul(c, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale-d.scale)), nil))
	}
	return c
}

// Cmp compares numeric values: -1 if d < e, 0 if equal, +1 if d > e.
func (d Decimal) Cmp(e Decimal) int {
	if ac, bc, _, ok := align(d, e); ok {
		switch {
		case ac < bc:
			return -1
		case ac > bc:
			return 1
		}
		return 0
	}
	s := max(d.scale, e.scale)
	return bigAt(d, s).Cmp(bigAt(e, s))
}

// Equal reports numeric equality ("1570" equals "1570.00").
func (d Decimal) Equal(e Decimal) bool { return d.Cmp(e) == 0 }

// Add returns d + e at the larger scale.
func (d Decimal) Add(e Decimal) Decimal {
	if ac, bc, s, ok := align(d, e); ok {
		sum := ac + bc
		if (sum > ac) == (bc > 0) || bc == 0 {
			return Decimal{coef: sum, scale: s}
		}
	}
	s := max(d.scale, e.scale)
	return fromBig(new(big.Int).Add(bigAt(d, s), bigAt(e, s)), s)
}

// Neg returns -d.
func (d Decimal) Neg() Decimal { return Decimal{coef: -d.coef, scale: d.scale} }

// Sub returns d - e at the larger scale.
func (d Decimal) Sub(e Decimal) Decimal { return d.Add(e.Neg()) }

// Mul returns the exact product d × e (scale = sum of scales, reduced if needed).
func (d Decimal) Mul(e Decimal) Decimal {
	s := d.scale + e.scale
	if over, p := mulOverflows(d.coef, e.coef); !over && s <= MaxDecimalDigits {
		return Decimal{coef: p, scale: s}
	}
	return fromBig(new(big.Int).Mul(d.big(), e.big()), s)
}

// Round returns d rounded to places decimals with the given mode; the result
// has exactly that scale (so "150" rounded to 2 places prints "150.00").
func (d Decimal) Round(places int, mode RoundingMode) Decimal {
	if places < 0 {
		places = 0
	}
	p := int32(places)
	if p >= d.scale {
		if over, c := mulOverflows(d.coef, pow10[min(p-d.scale, MaxDecimalDigits)]); !over && p <= MaxDecimalDigits {
			return Decimal{coef: c, scale: p}
		}
		return d
	}
	f := pow10[d.scale-p]
	q, r := d.coef/f, d.coef%f
	if r != 0 {
		neg := r < 0
		if neg {
			r = -r
		}
		half := f / 2
		up := false
		switch mode {
		case HalfUp:
			up = r >= half
		case HalfEven:
			up = r > half || (r == half && q%2 != 0)
		case Up:
			up = true
		case Down:
		}
		if up {
			if neg {
				q--
			} else {
				q++
			}
		}
	}
	return Decimal{coef: q, scale: p}
}

// String renders d with its own scale, e.g. "1570", "100.50", "-3.2".
func (d Decimal) String() string {
	var buf [24]byte
	return string(d.append(buf[:0]))
}

// Fixed renders d rounded half-up to exactly places decimals ("1570.0000").
func (d Decimal) Fixed(places int) string {
	return d.Round(places, HalfUp).String()
}

// AppendText appends what String gives to b (encoding.TextAppender),
// allocating nothing beyond growing b: the state store writes amounts with
// it on every persisted change.
func (d Decimal) AppendText(b []byte) ([]byte, error) { return d.append(b), nil }

func (d Decimal) append(b []byte) []byte {
	c := d.coef
	neg := c < 0
	var u uint64
	if neg {
		u = uint64(-c)
	} else {
		u = uint64(c)
	}
	var buf [20]byte
	digits := strconv.AppendUint(buf[:0], u, 10)
	if neg {
		b = append(b, '-')
	}
	s := int(d.scale)
	if s == 0 {
		return append(b, digits...)
	}
	if len(digits) <= s {
		b = append(b, '0', '.')
		for i := len(digits); i < s; i++ {
			b = append(b, '0')
		}
		return append(b, digits...)
	}
	b = append(b, digits[:len(digits)-s]...)
	b = append(b, '.')
	return append(b, digits[len(digits)-s:]...)
}

// MarshalText renders d as String does.
func (d Decimal) MarshalText() ([]byte, error) { return d.append(nil), nil }

// UnmarshalText parses ParseDecimal's form.
func (d *Decimal) UnmarshalText(b []byte) error {
	v, err := ParseDecimal(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalJSON renders d as a JSON string ("1570.0000" style is the caller's
// job: use Fixed before marshalling when a provider wants fixed decimals).
func (d Decimal) MarshalJSON() ([]byte, error) {
	b := []byte{'"'}
	b = d.append(b)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts a JSON number (its literal text, never a float64)
// or a JSON string holding a decimal.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		s = str
	}
	return d.UnmarshalText([]byte(s))
}

// UnmarshalYAML accepts an integer or a decimal string (configuration
// amounts: `max_amount: 50000` or `balance: "1000.50"`). It is a leaf type,
// so it does not disturb the strict decoding of the enclosing struct.
func (d *Decimal) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a decimal number", n.Line)
	}
	v, err := ParseDecimal(strings.TrimSpace(n.Value))
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*d = v
	return nil
}

// MarshalYAML renders d as a string.
func (d Decimal) MarshalYAML() (any, error) { return d.String(), nil }

// Amount is a sum of money in a currency (ISO 4217 code, e.g. "CLP").
type Amount struct {
	Value    Decimal
	Currency string
}

func (a Amount) String() string { return a.Value.String() + " " + a.Currency }
