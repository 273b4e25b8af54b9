// Package platform is what the sandbox hands each provider emulator: the
// shared clock, journal, callback dispatcher, scenario engine, random
// source, logger and page files, plus the settings every provider obeys
// (public URL, debug headers). A provider keeps no global state; everything
// it shares with the rest of the sandbox comes through Deps.
package platform

import (
	"io/fs"
	"log/slog"

	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/random"
	"github.com/paysandbox/sandbox/scenarios"
)

// Deps are a provider's dependencies.
type Deps struct {
	Log        *slog.Logger
	Clock      *clock.Clock
	Journal    *journal.Journal
	Dispatcher *callback.Dispatcher
	Scenarios  *scenarios.Engine
	// Random is the provider's own random stream (seeded per provider under --seed).
	Random *random.Source
	// PublicURL is the configured public base URL ("" = from each creating request).
	PublicURL string
	// DebugHeaders enables the X-Sandbox-* response headers.
	DebugHeaders bool
	// Web holds the embedded templates/ and static/ trees (package web).
	Web fs.FS
	// MaxObjects bounds each object table (0: no bound): the oldest objects
	// beyond it are forgotten.
	MaxObjects int
}

// Transition journals a state change of an object.
func (d Deps) Transition(provider, kind, id, from, to, cause string, related ...string) {
	if d.Journal == nil {
		return
	}
	d.Journal.Add(journal.Entry{
		Kind: journal.KindTransition, Provider: provider, Objects: append([]string{id}, related...),
		Summary:    kind + " " + id + ": " + from + " → " + to + " (" + cause + ")",
		Transition: &journal.Transition{Kind: kind, From: from, To: to, Cause: cause},
	})
}

// Record journals an entry of another kind (timer, page, hook, note).
func (d Deps) Record(kind journal.Kind, provider, summary string, data map[string]string, objects ...string) {
	if d.Journal == nil {
		return
	}
	d.Journal.Add(journal.Entry{Kind: kind, Provider: provider, Objects: objects, Summary: summary, Data: data})
}
