package payu

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

// Service is the PayU Latam emulator.
type Service struct {
	cfg  Config
	deps platform.Deps
}

// New builds the emulator from its configuration section.
func New(cfg Config, deps platform.Deps, transfers emulators.BankTransfers) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, deps: deps}, nil
}

// Register mounts the production tree on g.
func (s *Service) Register(g *echo.Group) {}

// Name implements admin.Provider.
func (s *Service) Name() string { return "payu" }

// Objects implements admin.Provider.
func (s *Service) Objects(q admin.Query) ([]admin.Object, int) { return nil, 0 }

// Object implements admin.Provider.
func (s *Service) Object(id string) (admin.Object, error) {
	return admin.Object{}, emulators.Errorf(emulators.NotFound, "no payu object %q", id)
}

// Act implements admin.Provider.
func (s *Service) Act(ctx context.Context, id, action string, params json.RawMessage) (admin.Object, error) {
	return admin.Object{}, emulators.Errorf(emulators.NotFound, "no payu object %q", id)
}

// Reset implements admin.Provider.
func (s *Service) Reset() {}

// Describe implements admin.Provider.
func (s *Service) Describe(linkBase string) admin.Description {
	return admin.Description{Provider: "payu", Title: "PayU Latam", BaseURLs: []admin.Link{{Name: "API", URL: linkBase + "/payu"}}}
}

// Close stops the emulator's timers.
func (s *Service) Close() {}

// SignCommand implements `sandbox sign payu …`.
func SignCommand(args []string, stdout io.Writer) error {
	return fmt.Errorf("sign payu: pending (issue for the PayU Latam emulator)")
}

// TransferSettled implements emulators.TransferListener.
func (s *Service) TransferSettled(ctx context.Context, e emulators.TransferEvent) {}
