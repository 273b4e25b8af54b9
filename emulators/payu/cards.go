package payu

import (
	"strconv"
	"strings"
)

// cardOf keeps what the sandbox may keep of a card: the first 6 and last 4
// digits, the holder's name and the brand.
func cardOf(number, name string, m methodInfo) *Card {
	c := &Card{Name: name, Brand: m.Brand, Debit: m.Debit}
	if len(number) >= 10 {
		c.First6, c.Last4 = number[:6], number[len(number)-4:]
	} else if len(number) > 4 {
		c.Last4 = number[len(number)-4:]
	}
	return c
}

// prepaidCard is the DOC-TEST prepaid MASTERCARD.
const prepaidCard = "5185540320000012"

func (s *Service) isPrepaid(number string) bool {
	if number == prepaidCard {
		return true
	}
	for _, p := range s.cfg.Cards.PrepaidPrefixes {
		if strings.HasPrefix(number, p) {
			return true
		}
	}
	return false
}

// luhn reports whether number is all digits and passes the Luhn check.
func luhn(number string) bool {
	if len(number) < 2 {
		return false
	}
	sum := 0
	double := false
	for i := len(number) - 1; i >= 0; i-- {
		c := number[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// oldTestCards are two DOC-TEST Chile numbers that fail Luhn but are allowed (§7.2).
var oldTestCards = map[string]bool{"4938590000000010": true, "5435630000000000": true}

// brandMatches checks the number against the method's brand (§6.2).
func brandMatches(brand, n string) bool {
	l := len(n)
	prefix := func(k int) int {
		if l < k {
			return -1
		}
		v, _ := strconv.Atoi(n[:k])
		return v
	}
	switch brand {
	case "VISA":
		return strings.HasPrefix(n, "4") && (l == 13 || l == 16 || l == 19)
	case "MASTERCARD":
		p2, p4 := prefix(2), prefix(4)
		return l == 16 && ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720))
	case "AMEX":
		return l == 15 && (strings.HasPrefix(n, "34") || strings.HasPrefix(n, "37"))
	case "DINERS":
		p2, p3 := prefix(2), prefix(3)
		return l >= 14 && l <= 19 && ((p3 >= 300 && p3 <= 305) || p3 == 309 || p2 == 36 || p2 == 38 || p2 == 39)
	}
	return false
}

// approvedNames are the holder names of the current Chile test cards (§7.5 rule 6).
var approvedNames = map[string]bool{
	"BKN_DMC_001": true, "BKN_MCS_001": true, "VISA_GLOBAL_3": true, "VISA_ECOMMERCE_03": true, "VISA_GLOBAL_5": true,
}

// manualReviewEmail sends a PENDING card to manual review (§7.5 rule 4).
const manualReviewEmail = "manual-review-hub@email.com"

// cardOutcome is the §7.5 decision table (rules 1–11; rule 0, the
// scenario, is applied by the caller).
func (s *Service) cardOutcome(m methodInfo, number, cvv, expiry, name string, emails []string) outcome {
	// Rule 1: the card check.
	if !oldTestCards[number] {
		if !luhn(number) {
			return outcome{state: StateDeclined, responseCode: "INVALID_CARD", netMsg: "Sandbox: card number fails the Luhn check"}
		}
		if !brandMatches(m.Brand, number) {
			return outcome{state: StateDeclined, responseCode: "INVALID_CARD",
				netMsg: "Sandbox: card number does not match payment method [" + m.Name + "]"}
		}
	}
	approve := outcome{state: StateApproved, responseCode: "APPROVED"}
	declined := outcome{state: StateDeclined, responseCode: "ENTITY_DECLINED"}
	holder := strings.ToUpper(strings.TrimSpace(name))
	switch {
	case holder == "APPROVED": // rule 2
		return approve
	case holder == "REJECTED": // rule 3
		return outcome{state: StateDeclined, responseCode: "ANTIFRAUD_REJECTED"}
	case holder == "PENDING": // rules 4 and 5
		for _, e := range emails {
			if strings.EqualFold(strings.TrimSpace(e), manualReviewEmail) {
				return outcome{state: StatePending, pendingReason: "PENDING_REVIEW", responseCode: "PENDING_TRANSACTION_REVIEW"}
			}
		}
		return outcome{state: StateDeclined, responseCode: "ANTIFRAUD_REJECTED"}
	case approvedNames[holder]: // rule 6
		return approve
	}
	okCVV, badCVV := "777", "666"
	if m.Brand == "AMEX" {
		okCVV, badCVV = "7777", "6666"
	}
	switch cvv {
	case okCVV: // rule 7
		return approve
	case badCVV: // rule 8
		return declined
	}
	if len(expiry) == 7 {
		month, _ := strconv.Atoi(expiry[5:])
		switch {
		case month < 6: // rule 9
			return approve
		case month > 6: // rule 10
			return declined
		}
	}
	if s.cfg.Cards.DefaultOutcome == "decline" { // rule 11
		return declined
	}
	return approve
}
