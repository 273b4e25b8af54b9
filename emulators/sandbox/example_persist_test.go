package sandbox_test

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// A sandbox with Persist keeps its state in DataDir/state.db; once it is
// stopped, ExportState writes that state as one JSON document and
// ImportState loads it into another data directory (sandbox export and
// sandbox import on the command line).
func ExampleExportState() {
	qa, _ := os.MkdirTemp("", "qa")
	dev, _ := os.MkdirTemp("", "dev")
	defer os.RemoveAll(qa)
	defer os.RemoveAll(dev)

	cfg := sandbox.DefaultConfig()
	cfg.DataDir, cfg.Persist = qa, true
	sb, err := sandbox.New(cfg, nil, sandbox.Options{})
	if err != nil {
		panic(err)
	}
	sb.Clock().Advance(90 * 60e9) // 90 minutes, kept
	sb.Close(context.Background())

	var doc bytes.Buffer
	if err := sandbox.ExportState(qa, &doc); err != nil {
		panic(err)
	}
	if _, err := sandbox.ImportState(dev, &doc, false); err != nil {
		panic(err)
	}
	cfg.DataDir = dev
	sb, err = sandbox.New(cfg, nil, sandbox.Options{})
	if err != nil {
		panic(err)
	}
	defer sb.Close(context.Background())
	fmt.Println("clock offset on the developer's machine:", sb.Clock().Offset())
	// Output: clock offset on the developer's machine: 1h30m0s
}
