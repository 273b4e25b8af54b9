package sandbox

import "github.com/paysandbox/sandbox/emulators/internal/persist"

// StateOf returns the sandbox's state store (nil with persistence off).
func StateOf(s *Sandbox) *persist.Store { return s.state }
