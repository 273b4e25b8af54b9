// Package admin is the contract between each provider emulator and the
// sandbox's generic admin API and dashboard: a provider lists and shows its
// objects in one common summary shape, performs the actions its
// specification names, wipes its state, and describes its base URLs and
// credentials. The sandbox turns that into /_sandbox/api/objects,
// .../actions/{action}, /reset and the startup banner without knowing any
// provider's details.
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/paysandbox/sandbox/emulators"
)

// Provider is implemented by each emulator's service.
type Provider interface {
	// Name is the provider's path segment: "khipu", "hambit" or "payu".
	Name() string
	// Objects lists summaries (History and Data may be left empty), newest
	// first, honouring q, and returns the total number that match.
	Objects(q Query) (items []Object, total int)
	// Object returns one object in full. Unknown ids are an
	// *emulators.Error of kind NotFound.
	Object(id string) (Object, error)
	// Act performs an admin action with its JSON parameters ("{}" or empty
	// when it has none) and returns the object after it. Errors are
	// *emulators.Error: NotFound, Invalid (unknown action, bad parameters) or
	// Conflict (refused in the current state; the message names the state).
	Act(ctx context.Context, id, action string, params json.RawMessage) (Object, error)
	// Reset wipes the provider's objects, timers and pending callbacks.
	Reset()
	// Describe returns the base URLs (built on linkBase, e.g.
	// "http://127.0.0.1:8080") and the credentials a merchant needs.
	Describe(linkBase string) Description
}

// Query filters an object listing. Empty fields do not filter.
type Query struct {
	Kind    string // object kind
	Status  string // provider status (exact)
	Account string
	Search  string // substring of the id or the merchant's reference
	Offset  int
	Limit   int // 0 = all
}

// Object is the common summary of any provider object.
type Object struct {
	Provider  string    `json:"provider"`
	Kind      string    `json:"kind"` // payment, collection, transfer, order, transaction, refund, ...
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	Amount    string    `json:"amount"`
	Currency  string    `json:"currency"`
	Account   string    `json:"account"`   // receiver id, access key, merchant/account id
	Reference string    `json:"reference"` // the merchant's own id (transaction_id, externalOrderId, referenceCode)
	Scenario  string    `json:"scenario"`
	CreatedAt time.Time `json:"created_at"` // sandbox clock
	UpdatedAt time.Time `json:"updated_at"`
	// Actions are the admin actions the object accepts in its current state.
	Actions []Action `json:"actions"`
	// Links are URLs related to the object (payer page, receipt, ...).
	Links []Link `json:"links,omitempty"`
	// Related are other objects tied to this one (a PayU transaction's
	// Khipu payment, an order's transactions).
	Related []Ref `json:"related,omitempty"`
	// History is the object's state changes, oldest first.
	History []Change `json:"history,omitempty"`
	// Data is the object as the provider's API would show it.
	Data any `json:"data,omitempty"`
}

// Action is one admin action with its parameters.
type Action struct {
	Name   string  `json:"name"`
	Label  string  `json:"label,omitempty"` // button text
	Params []Param `json:"params,omitempty"`
}

// Param describes one action parameter (for the dashboard's forms).
type Param struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"` // string, decimal, bool, enum
	Options  []string `json:"options,omitempty"`
	Optional bool     `json:"optional,omitempty"`
	Help     string   `json:"help,omitempty"`
}

// Link is a named URL.
type Link struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Ref points at another object.
type Ref struct {
	Provider string `json:"provider"`
	Kind     string `json:"kind"`
	ID       string `json:"id"`
	Role     string `json:"role,omitempty"`
}

// Change is one state change.
type Change struct {
	Time  time.Time `json:"time"` // sandbox clock
	From  string    `json:"from"`
	To    string    `json:"to"`
	Cause string    `json:"cause"` // request, page, scenario, admin, timer, hook
	Note  string    `json:"note,omitempty"`
}

// Description is what a merchant needs to talk to a provider.
type Description struct {
	Provider    string       `json:"provider"`
	Title       string       `json:"title"`
	BaseURLs    []Link       `json:"base_urls"`
	Credentials []Credential `json:"credentials"`
	Notes       []string     `json:"notes,omitempty"`
}

// Credential is one account's settings, printed at startup and shown with
// copy buttons on the dashboard.
type Credential struct {
	Account string  `json:"account"`
	Fields  []Field `json:"fields"`
}

// Field is one named value.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// DecodeParams decodes an action's JSON parameters into v: no parameters
// mean {}, and unknown fields are refused (an *emulators.Error of kind
// Invalid), so that a typo in a parameter name is not silently ignored.
func DecodeParams(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return emulators.Errorf(emulators.Invalid, "bad parameters: %v", err)
	}
	return nil
}
