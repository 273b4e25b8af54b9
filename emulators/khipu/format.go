package khipu

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paysandbox/sandbox/emulators"
)

// Value formats of §4: what the sandbox accepts from the official clients
// and what it emits, exactly as real Khipu.

// maxAmountChars is the longest amount text accepted (§7: 16 characters).
const maxAmountChars = 16

var (
	errAmountSyntax = errors.New("not a plain decimal: use '.' as the decimal separator, no thousands separators, no exponent")
	errAmountLength = errors.New("longer than 16 characters")
)

// parseAmount parses an amount as the clients send it (§4.2): the text
// ^-?[0-9]+(\.[0-9]+)?$ of at most 16 characters, surrounding ASCII spaces
// trimmed. It keeps the exact decimal: "1570.0" is the integer 1570.
func parseAmount(s string) (emulators.Decimal, error) {
	s = strings.Trim(s, " ")
	if len(s) > maxAmountChars {
		return emulators.Decimal{}, errAmountLength
	}
	if !isPlainDecimal(s) {
		return emulators.Decimal{}, errAmountSyntax
	}
	d, err := emulators.ParseDecimal(s)
	if err != nil {
		return emulators.Decimal{}, errAmountSyntax
	}
	return d, nil
}

// isPlainDecimal reports whether s matches ^-?[0-9]+(\.[0-9]+)?$.
func isPlainDecimal(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start {
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != '.' {
		return false
	}
	i++
	start = i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i > start && i == len(s)
}

var errBool = errors.New("expected true, false, 1 or 0")

// parseBool parses a boolean as the clients send it (§4.2): true/false in
// any case, 1/0; an empty string is false (PHP sends false as nothing).
func parseBool(s string) (bool, error) {
	s = strings.Trim(s, " ")
	switch strings.ToLower(s) {
	case "true", "1":
		return true, nil
	case "false", "0", "":
		return false, nil
	}
	return false, errBool
}

var errDate = errors.New("expected YYYY-MM-DDTHH:MM:SS with an optional fraction and zone (ISO-8601)")

// parseDate parses a date-time as the official and popular clients send it
// (§4.2): YYYY-MM-DDTHH:MM:SS (one space instead of T accepted), an optional
// fraction of 1–9 digits, then an optional zone: Z, ±HH:MM, ±HHMM or ±HH,
// the numeric forms optionally after one space, or " UTC" / " GMT". No zone
// means UTC. The spaced forms are what Ruby's Time#to_s gives (the official
// Ruby client sends a Time that way: "2026-12-08 01:40:00 +0000", or
// "2026-12-08 01:40:00 UTC" for a UTC time) and what Python's str(datetime)
// gives ("2030-01-02 03:04:05+00:00", pykhipu). A date without a time, an
// impossible date or time, and anything else are refused: every accepted
// text names one instant.
func parseDate(s string) (time.Time, error) {
	s = strings.Trim(s, " ")
	// Fixed part: 2030-01-02T03:04:05 (19 bytes).
	if len(s) < 19 {
		return time.Time{}, errDate
	}
	num := func(from, to int) (int, bool) {
		n := 0
		for i := from; i < to; i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || s[4] != '-' || s[7] != '-' ||
		(s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, errDate
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, errDate
	}
	rest := s[19:]
	nsec := 0
	if strings.HasPrefix(rest, ".") {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		digits := rest[1:i]
		if len(digits) < 1 || len(digits) > 9 {
			return time.Time{}, errDate
		}
		n, _ := strconv.Atoi(digits + strings.Repeat("0", 9-len(digits)))
		nsec = n
		rest = rest[i:]
	}
	offset := 0
	if len(rest) > 1 && rest[0] == ' ' && (rest[1] == '+' || rest[1] == '-') {
		rest = rest[1:] // Ruby's "01:40:00 +0000"
	}
	switch {
	case rest == "" || rest == "Z" || rest == "z" || rest == " UTC" || rest == " GMT":
	case rest[0] == '+' || rest[0] == '-':
		sign := 1
		if rest[0] == '-' {
			sign = -1
		}
		z := rest[1:]
		var hh, mm string
		switch {
		case len(z) == 2:
			hh = z
		case len(z) == 4:
			hh, mm = z[:2], z[2:]
		case len(z) == 5 && z[2] == ':':
			hh, mm = z[:2], z[3:]
		default:
			return time.Time{}, errDate
		}
		h, err1 := atoi2(hh)
		m := 0
		var err2 error
		if mm != "" {
			m, err2 = atoi2(mm)
		}
		if err1 != nil || err2 != nil || h > 23 || m > 59 {
			return time.Time{}, errDate
		}
		offset = sign * (h*3600 + m*60)
	default:
		return time.Time{}, errDate
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), nil
}

func atoi2(s string) (int, error) {
	if len(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, errDate
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), nil
}

func daysIn(month, year int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// wireTimeLayout is Khipu's date format on the wire: UTC with milliseconds.
const wireTimeLayout = "2006-01-02T15:04:05.000Z"

// formatTime renders t as Khipu does: 2030-01-02T03:04:05.000Z.
func formatTime(t time.Time) string { return t.UTC().Format(wireTimeLayout) }

// formatAmount renders an amount as the API does: a string with 4 decimals.
func formatAmount(d emulators.Decimal) string { return d.Fixed(4) }

// formatNotifyAmount renders an amount of a 3.0 notification body: 2
// decimals, 4 when the amount has more than 2 significant decimals (§4.3).
func formatNotifyAmount(d emulators.Decimal) string {
	if d.Places() > 2 {
		return d.Fixed(4)
	}
	return d.Fixed(2)
}

// runeLen counts Unicode code points (§4.2: lengths are counted in code points).
func runeLen(s string) int { return utf8.RuneCountInString(s) }

// thousands renders a non-negative integer text with dot thousands separators.
func thousands(digits string) string {
	neg := strings.HasPrefix(digits, "-")
	digits = strings.TrimPrefix(digits, "-")
	var b strings.Builder
	for i, ch := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(ch)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// displayAmount renders an amount for the payer pages: CLP as $1.570,
// other currencies as "USD 10,50".
func displayAmount(d emulators.Decimal, currency string) string {
	if currency == "CLP" {
		return "$" + thousands(d.Round(0, emulators.HalfUp).String())
	}
	places := max(d.Places(), 2)
	s := d.Fixed(places)
	intPart, frac, _ := strings.Cut(s, ".")
	return currency + " " + thousands(intPart) + "," + frac
}

// RUT (Chilean tax id) handling for the DemoBank pages (§12.5).

// rut is a parsed RUT: the body digits and the check digit.
type rut struct {
	body int
	dv   byte // '0'..'9' or 'K'
}

var errRUT = errors.New("not a valid RUT")

// parseRUT accepts 11.111.111-1, 11111111-1, 111111111 and 10.000.013-k;
// the check digit must be right.
func parseRUT(s string) (rut, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return rut{}, errRUT
	}
	dv := s[len(s)-1]
	if dv == 'k' {
		dv = 'K'
	}
	if !(dv >= '0' && dv <= '9') && dv != 'K' {
		return rut{}, errRUT
	}
	bodyText := strings.TrimSuffix(s[:len(s)-1], "-")
	if strings.Contains(bodyText, ".") {
		// Dots must group thousands: 1-2 digits, then groups of three.
		parts := strings.Split(bodyText, ".")
		if len(parts[0]) < 1 || len(parts[0]) > 3 {
			return rut{}, errRUT
		}
		for _, p := range parts[1:] {
			if len(p) != 3 {
				return rut{}, errRUT
			}
		}
		bodyText = strings.Join(parts, "")
	}
	if len(bodyText) < 1 || len(bodyText) > 8 {
		return rut{}, errRUT
	}
	body := 0
	for _, ch := range []byte(bodyText) {
		if ch < '0' || ch > '9' {
			return rut{}, errRUT
		}
		body = body*10 + int(ch-'0')
	}
	if body == 0 || checkDigit(body) != dv {
		return rut{}, errRUT
	}
	return rut{body: body, dv: dv}, nil
}

// checkDigit computes the RUT check digit (module 11 with weights 2..7).
func checkDigit(body int) byte {
	sum, w := 0, 2
	for n := body; n > 0; n /= 10 {
		sum += (n % 10) * w
		w++
		if w > 7 {
			w = 2
		}
	}
	switch r := 11 - sum%11; r {
	case 11:
		return '0'
	case 10:
		return 'K'
	default:
		return byte('0' + r)
	}
}

// String renders the RUT as 11.111.111-1.
func (r rut) String() string { return thousands(strconv.Itoa(r.body)) + "-" + string(r.dv) }

// account returns DemoBank's source account n (1 or 2) of the RUT:
// the body zero-padded to 8 digits followed by 0001 or 0002 (§12.2).
func (r rut) account(n int) string { return fmt.Sprintf("%08d%04d", r.body, n) }

// isEmail checks the documented e-mail form: local@domain with a dot in
// the domain (§7, F14).
func isEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(s, " \t\r\n") || strings.Contains(domain, "@") {
		return false
	}
	dot := strings.Index(domain, ".")
	return dot > 0 && dot < len(domain)-1 && !strings.HasSuffix(domain, ".") && !strings.Contains(domain, "..")
}
