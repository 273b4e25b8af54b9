package hambit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/platform"
)

// Service is the Hambit emulator.
type Service struct {
	cfg  Config
	deps platform.Deps
}

// New builds the emulator from its configuration section.
func New(cfg Config, deps platform.Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, deps: deps}, nil
}

// Register mounts the production tree on g.
func (s *Service) Register(g *echo.Group) {}

// Name implements admin.Provider.
func (s *Service) Name() string { return "hambit" }

// Objects implements admin.Provider.
func (s *Service) Objects(q admin.Query) ([]admin.Object, int) { return nil, 0 }

// Object implements admin.Provider.
func (s *Service) Object(id string) (admin.Object, error) {
	return admin.Object{}, emulators.Errorf(emulators.NotFound, "no hambit object %q", id)
}

// Act implements admin.Provider.
func (s *Service) Act(ctx context.Context, id, action string, params json.RawMessage) (admin.Object, error) {
	return admin.Object{}, emulators.Errorf(emulators.NotFound, "no hambit object %q", id)
}

// Reset implements admin.Provider.
func (s *Service) Reset() {}

// Describe implements admin.Provider.
func (s *Service) Describe(linkBase string) admin.Description {
	return admin.Description{Provider: "hambit", Title: "Hambit", BaseURLs: []admin.Link{{Name: "API", URL: linkBase + "/hambit"}}}
}

// Close stops the emulator's timers.
func (s *Service) Close() {}

// SignCommand implements `sandbox sign hambit …`.
func SignCommand(args []string, stdout io.Writer) error {
	return fmt.Errorf("sign hambit: pending (issue for the Hambit emulator)")
}
