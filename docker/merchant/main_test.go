package main

import (
	"net/url"
	"testing"
)

// The example merchant's signer against Khipu's published vectors
// (docs/khipu.md §5.5 (a) and (c)).
func TestSignVectors(t *testing.T) {
	tests := []struct {
		secret, method, url string
		params              url.Values
		want                string
	}{
		{"secret-key", "POST", "https://khipu.com/api/2.0/payments",
			url.Values{"subject": {"ejemplo de compra"}, "amount": {"1000"}, "currency": {"CLP"}},
			"8b06e63d9666201586f62440ef4e382f2ffb5f1ce122ff87a6d9b3a3064d4aff"},
		{"abc123", "GET", "https://khipu.com/api/2.0/payments",
			url.Values{"notification_token": {"e2378adb7a79f8c7bc2690981bc4e816cbef9751f10612a41bcaab1ba8912601"}},
			"8fe56eb00c7bb618a3a07acda7d81dfe1c2c6eb2378b5c1ff9dd6640c9f127a8"},
	}
	for _, tt := range tests {
		if got := sign(tt.secret, tt.method, tt.url, tt.params); got != tt.want {
			t.Errorf("sign(%s %s) = %s, want %s", tt.method, tt.url, got, tt.want)
		}
	}
}
