package khipu

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

// Service is the Khipu emulator.
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
func (s *Service) Name() string { return "khipu" }

// Objects implements admin.Provider.
func (s *Service) Objects(q admin.Query) ([]admin.Object, int) { return nil, 0 }

// Object implements admin.Provider.
func (s *Service) Object(id string) (admin.Object, error) {
	return admin.Object{}, emulators.Errorf(emulators.NotFound, "no khipu object %q", id)
}

// Act implements admin.Provider.
func (s *Service) Act(ctx context.Context, id, action string, params json.RawMessage) (admin.Object, error) {
	return admin.Object{}, emulators.Errorf(emulators.NotFound, "no khipu object %q", id)
}

// Reset implements admin.Provider.
func (s *Service) Reset() {}

// Describe implements admin.Provider.
func (s *Service) Describe(linkBase string) admin.Description {
	return admin.Description{Provider: "khipu", Title: "Khipu", BaseURLs: []admin.Link{{Name: "API", URL: linkBase + "/khipu"}}}
}

// Close stops the emulator's timers.
func (s *Service) Close() {}

// SignCommand implements `sandbox sign khipu …`.
func SignCommand(args []string, stdout io.Writer) error {
	return fmt.Errorf("sign khipu: pending (issue for the Khipu emulator)")
}

// SetTransferListener registers PayU's listener for payments made through
// CreateTransfer.
func (s *Service) SetTransferListener(l emulators.TransferListener) {}

// CreateTransfer implements emulators.BankTransfers.
func (s *Service) CreateTransfer(ctx context.Context, r emulators.TransferRequest) (emulators.Transfer, error) {
	return emulators.Transfer{}, emulators.Errorf(emulators.Unavailable, "pending")
}

// ActOnTransfer implements emulators.BankTransfers.
func (s *Service) ActOnTransfer(ctx context.Context, paymentID string, a emulators.TransferAction) error {
	return emulators.Errorf(emulators.Unavailable, "pending")
}
