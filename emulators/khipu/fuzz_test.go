package khipu

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/scenarios"
)

func FuzzDecodeJSONInput(f *testing.F) {
	f.Add([]byte(`{"subject":"x","currency":"CLP","amount":1570,"send_email":true,"custom":null}`))
	f.Add([]byte(`{"amount":"1e3","a":{"b":[1,2]}}`))
	f.Add([]byte(`[`))
	f.Add([]byte("{\"\xff\":\"\xfe\"}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := decodeJSONInput(b)
		if err != nil {
			return
		}
		// Whatever decodes must validate without panicking, with field
		// errors or a valid request.
		r := newReceiver(builtinReceiver())
		req, errs := validateCreate(in, true, r, DefaultConfig().Banks, time.Unix(0, 0))
		if len(errs) == 0 && (req.Subject == "" || req.Amount.Sign() <= 0) {
			t.Fatalf("accepted %s as %+v", b, req)
		}
	})
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"1570", "1570.0", "-1", "100,5", "1.2E7", "", " 12 ", "00001.10000", "9999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseAmount(s)
		if err != nil {
			return
		}
		// Round trip: the decimal's text parses back to the same value.
		again, err := parseAmount(d.String())
		if err != nil || !again.Equal(d) {
			t.Fatalf("%q → %s → %v, %v", s, d, again, err)
		}
		if strings.ContainsAny(strings.Trim(s, " "), "eE,+ ") {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzParseBool(f *testing.F) {
	for _, s := range []string{"true", "False", "1", "0", "", "yes", " TRUE "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := parseBool(s)
		if err != nil {
			return
		}
		switch strings.ToLower(strings.Trim(s, " ")) {
		case "true", "1":
			if !b {
				t.Fatalf("%q → false", s)
			}
		case "false", "0", "":
			if b {
				t.Fatalf("%q → true", s)
			}
		default:
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2030-01-02T03:04:05+0000", "2030-01-02T03:04:05.000-03:00", "2030-01-02 03:04:05+00:00", "02/01/2030", "2030-01-02T03:04:05.Z",
		"2026-12-08 01:40:00 +0000", "2026-12-08 01:40:00 UTC", "2026-12-08T01:40:00.123456+00:00", "2026-12-08T01:40:00.000Z",
		"2026-12-08T01:40:00-0300", "2026-12-08 01:40:00 GMT", "2026-12-08", "2026-02-30 10:00:00", "mañana"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDate(s)
		if err != nil {
			return
		}
		// Every accepted text carries a full date and time.
		if trimmed := strings.Trim(s, " "); len(trimmed) < 19 || trimmed[13] != ':' || trimmed[16] != ':' {
			t.Fatalf("%q accepted without a time: %v", s, d)
		}
		if d.Year() < 1 || d.Year() > 9999 {
			return // a zone offset may push year 0000 or 9999 out of the four-digit range
		}
		// The same instant in every zone spelling the clients use parses back
		// to it (milliseconds and beyond kept).
		in := time.FixedZone("", -3*3600)
		for _, text := range []string{
			d.Format("2006-01-02T15:04:05.999999999Z07:00"),        // RFC 3339
			d.UTC().Format("2006-01-02 15:04:05.999999999 UTC"),    // Ruby, UTC time
			d.In(in).Format("2006-01-02 15:04:05.999999999 -0700"), // Ruby, local time
			d.In(in).Format("2006-01-02T15:04:05.999999999-07"),    // ±HH
			d.In(in).Format("2006-01-02 15:04:05.999999999-07:00"), // Python str(datetime)
			d.UTC().Format("2006-01-02T15:04:05.999999999"),        // no zone: UTC
		} {
			again, err := parseDate(text)
			if err != nil || !again.Equal(d) {
				t.Fatalf("%q → %v → %q → %v, %v", s, d, text, again, err)
			}
		}
	})
}

// FuzzAPIRequests sends arbitrary bodies, queries and headers through the
// whole stack: every answer is a Khipu-shaped 2xx/3xx/4xx, never a 500.
func FuzzAPIRequests(f *testing.F) {
	k := newKEnv(f)
	id := k.createV2(basicPayment())
	f.Add("POST", "/khipu/api/2.0/payments", "subject=x&amount=1&currency=CLP", "application/x-www-form-urlencoded", "123456:"+strings.Repeat("a", 64))
	f.Add("POST", "/khipu/v3/payments", `{"subject":"x","amount":1e400,"currency":"CLP"}`, "application/json", "")
	f.Add("POST", "/khipu/v3/payments/"+id+"/refunds", `{"amount":-0}`, "", "")
	f.Add("GET", "/khipu/api/2.0/payments?notification_token=%zz", "", "", ":")
	f.Add("POST", "/khipu/payment/simplified/"+id, "step=login&rut=1.1.1-1&password=1234", "application/x-www-form-urlencoded", "")
	f.Add("POST", "/khipu/payment/manual/"+id, "bank_id=Bawdf&rut=%00", "application/x-www-form-urlencoded", "")
	f.Fuzz(func(t *testing.T, method, target, body, contentType, auth string) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\t#") || strings.ContainsAny(method+contentType+auth, "\r\n\x00") {
			return
		}
		switch method {
		case "GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS":
		default:
			return
		}
		r, err := http.NewRequest(method, "http://"+testHost+target, strings.NewReader(body))
		if err != nil {
			return
		}
		r.RequestURI = target
		r.Header.Set("Content-Type", contentType)
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Api-Key", DefaultAPIKey)
		rec := k.do(r)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, target, body, rec.Code, rec.Body)
		}
	})
}

// FuzzPredictCoolDown loads arbitrary cool_down values of a predict rule:
// never a panic, and an accepted value is a duration from 0 to 8760h.
func FuzzPredictCoolDown(f *testing.F) {
	for _, s := range []string{"24h", "90m", "0", "-1h", "8760h", "8761h", "1e9h", "[1h]", "{a: b}", "9223372036854775807ns", `"2h"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		if strings.ContainsAny(value, "\n\r") {
			return
		}
		yaml := "rules:\n  - {provider: khipu, on: predict, then: {outcome: new_destinatary_cool_down, cool_down: " + value + "}}\n"
		s, err := scenarios.Load("fuzz.yaml", []byte(yaml), scenarios.Default)
		if err != nil {
			return
		}
		if len(s.Rules) != 1 {
			t.Fatalf("%q: %d rules", value, len(s.Rules))
		}
		d, ok := s.Rules[0].Then.Params["cool_down"].(ScenarioCoolDown)
		if !ok {
			return // a value that closes the mapping early, such as "1h, x: y"
		}
		if time.Duration(d) < 0 || time.Duration(d) > maxCoolDown {
			t.Fatalf("%q accepted as %v", value, time.Duration(d))
		}
	})
}
