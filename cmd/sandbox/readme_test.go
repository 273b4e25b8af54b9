package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/sandbox"
	"github.com/paysandbox/sandbox/scenarios"
)

// docBlock is one fenced code block of a README.
type docBlock struct {
	file string
	line int // of the opening fence
	lang string
	text string
	skip string // the reason of a "<!-- readme-test: skip REASON -->" marker
	// sameAs is the file of a "<!-- readme-test: same-as FILE -->" marker.
	sameAs string
}

func (b docBlock) String() string { return fmt.Sprintf("%s:%d (```%s)", b.file, b.line, b.lang) }

// skipMarker, on the line right before a fence, says the block is not run
// (output, a long-running command, Docker); README.md, Tests, documents it.
const skipMarker = "<!-- readme-test: skip"

// sameAsMarker, on the line right before a fence, names the file (from the
// repository root) that holds the block verbatim, where a test runs it:
// the block must appear there, white space aside.
const sameAsMarker = "<!-- readme-test: same-as"

func readBlocks(t *testing.T, file string) []docBlock {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []docBlock
	var cur *docBlock
	prev := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &docBlock{file: file, line: n, lang: strings.TrimSpace(strings.TrimPrefix(line, "```"))}
			if rest, ok := strings.CutPrefix(strings.TrimSpace(prev), skipMarker); ok {
				cur.skip = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "-->"))
				if cur.skip == "" {
					cur.skip = "-"
				}
			}
			if rest, ok := strings.CutPrefix(strings.TrimSpace(prev), sameAsMarker); ok {
				cur.sameAs = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "-->"))
			}
		case cur != nil && strings.HasPrefix(line, "```"):
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
		prev = line
	}
	if cur != nil {
		t.Errorf("%s:%d: code block never closed", file, cur.line)
	}
	return out
}

// TestReadmeExamples runs every example of README.md and the provider
// READMEs against a zero-configuration sandbox on loopback:
//
//   - ```yaml with rules: is a scenario: it loads, uploads to the sandbox,
//     and every rule can fire — a request satisfying its conditions reaches
//     it (no earlier rule shadows it), and for Khipu payer and create rules
//     a real signed payment with those attributes is accepted by the
//     built-in receiver;
//   - any other ```yaml is a configuration file: it loads and validates;
//   - ```sh with curl runs with the real curl binary (only the host:port of
//     127.0.0.1:8080 is replaced) and every answer must be below 400;
//   - ```sh of sandbox commands runs them in process and they must succeed.
//
// Any other block must carry the skip marker with a reason.
func TestReadmeExamples(t *testing.T) {
	files := []string{"../../README.md"}
	more, _ := filepath.Glob("../../emulators/*/README.md")
	files = append(files, more...)
	// The examples' `sandbox ca` and the running sandbox share one data
	// directory (one CA), and shell blocks run in a scratch directory.
	sh := &shellEnv{dataDir: t.TempDir(), workDir: t.TempDir()}
	addr, _, _, _ := startServe(t, "--data-dir", sh.dataDir)
	base := "http://" + addr
	total, run := 0, 0
	for _, f := range files {
		for _, b := range readBlocks(t, f) {
			total++
			name := strings.TrimPrefix(b.file, "../../") + ":" + fmt.Sprint(b.line)
			t.Run(name, func(t *testing.T) {
				if b.skip != "" {
					if b.skip == "-" {
						t.Errorf("%s: the skip marker needs a reason", b)
					}
					t.Logf("not run: %s", b.skip)
					return
				}
				run++
				switch {
				case b.sameAs != "":
					checkSameAs(t, b)
				case b.lang == "yaml" && isScenario(b.text):
					checkScenarioExample(t, b, base)
				case b.lang == "yaml":
					checkConfigExample(t, b)
				case b.lang == "sh" && strings.Contains(b.text, "curl "):
					runCurlExample(t, b, addr, sh)
				case b.lang == "sh" && onlySandboxCommands(b.text):
					runSandboxExample(t, b)
				default:
					t.Errorf("%s: no way to run this block; mark it %q with the reason on the line before the fence", b, skipMarker+" REASON -->")
				}
			})
		}
	}
	t.Run("scenarios/doc.go", func(t *testing.T) {
		b := docGoExample(t, "../../scenarios/doc.go")
		checkScenarioExample(t, b, base)
		run++
	})
	if total < 15 {
		t.Errorf("only %d blocks found in %v", total, files)
	}
	t.Logf("%d blocks, %d run", total, run)
}

// docGoExample extracts the scenario under "# A complete example" of a
// package comment (its indented lines).
func docGoExample(t *testing.T, file string) docBlock {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b := docBlock{file: file, lang: "yaml"}
	in := false
	for n, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "// # A complete example"):
			in = true
		case in && strings.HasPrefix(line, "//\t"):
			if b.line == 0 {
				b.line = n + 1
			}
			b.text += strings.TrimPrefix(line, "//\t") + "\n"
		case in && b.text != "" && strings.HasPrefix(line, "// #"):
			in = false
		}
	}
	if !isScenario(b.text) {
		t.Fatalf("%s: no scenario under \"# A complete example\"", file)
	}
	return b
}

func isScenario(text string) bool {
	var top map[string]any
	if yaml.Unmarshal([]byte(text), &top) != nil {
		return false
	}
	_, ok := top["rules"]
	return ok
}

func checkConfigExample(t *testing.T, b docBlock) {
	cfg := sandbox.DefaultConfig()
	if err := sandbox.DecodeConfig(b.String(), []byte(b.text), &cfg); err != nil {
		t.Fatalf("the configuration example does not load:\n%v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the configuration example does not validate:\n%v", err)
	}
}

func checkScenarioExample(t *testing.T, b docBlock, base string) {
	s, err := scenarios.Load(b.String(), []byte(b.text), scenarios.Default)
	if err != nil {
		t.Fatalf("the scenario does not load:\n%v", err)
	}
	resp, err := http.Post(base+"/_sandbox/api/scenarios", "application/yaml", strings.NewReader(b.text))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload answered %d: %s", resp.StatusCode, body)
	}
	for _, r := range s.Rules {
		attrs, ok := satisfy(r.When)
		if !ok {
			t.Errorf("%s (line %d): cannot build attributes that satisfy its conditions", r.Label(), r.Line)
			continue
		}
		if p := scenarios.Select(s, r.Provider, r.On, attrs, nil); p.Rule != r.Label() {
			t.Errorf("%s (line %d) can never fire: %v is taken by %q first", r.Label(), r.Line, attrs, p.Rule)
			continue
		}
		if r.Provider == "khipu" && (r.On == "pay" || r.On == "create") && r.Then.Error == nil && r.Then.Fault == "" {
			probeKhipu(t, base, s.Name, r, attrs)
		}
	}
}

// probeKhipu creates a payment with the rule's attributes through the
// signed API 2.0 as the built-in receiver: the decision points create and
// pay are taken at creation, so an accepted payment reaches the rule.
func probeKhipu(t *testing.T, base, scenario string, r scenarios.Rule, attrs scenarios.Attrs) {
	params := url.Values{"subject": {"README example"}, "amount": {"1000"}, "currency": {"CLP"}}
	for k, v := range attrs {
		params.Set(k, v)
	}
	endpoint := base + "/khipu/api/2.0/payments"
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Sandbox-Scenario", scenario)
	req.Header.Set("Authorization", khipu.SignRequest(khipu.DefaultSecret, khipu.DefaultReceiverID, http.MethodPost, endpoint, params))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%s (line %d) can never fire against a zero-config sandbox: a payment with %v is refused: %d %s",
			r.Label(), r.Line, attrs, resp.StatusCode, body)
	}
}

// satisfy builds attributes for which every condition holds.
func satisfy(conds []scenarios.Condition) (scenarios.Attrs, bool) {
	attrs := scenarios.Attrs{}
	// Decimal bounds of each field, applied together.
	lo, hi := map[string]emulators.Decimal{}, map[string]emulators.Decimal{}
	for _, c := range conds {
		v := c.Values[0]
		switch c.Op {
		case "eq", "in", "contains", "prefix", "suffix":
			if c.Op == "prefix" {
				v += "X1"
			}
			if c.Op == "suffix" {
				v = "X1" + v
			}
			attrs[c.Field] = v
		case "ne":
			attrs[c.Field] = v + "1"
			if c.Type == scenarios.Bool {
				attrs[c.Field] = fmt.Sprint(v != "true")
			}
		case "gt", "gte":
			d, _ := emulators.ParseDecimal(v)
			if c.Op == "gt" {
				d = d.Add(emulators.MustDecimal("1"))
			}
			lo[c.Field] = d
		case "lt", "lte":
			d, _ := emulators.ParseDecimal(v)
			if c.Op == "lt" {
				d = d.Sub(emulators.MustDecimal("1"))
			}
			hi[c.Field] = d
		case "regex":
			prefix := strings.TrimPrefix(v, "^")
			if strings.ContainsAny(prefix, `\.*+?()[]{}|$`) {
				return nil, false
			}
			attrs[c.Field] = prefix + "X1"
		}
	}
	for f, d := range lo {
		attrs[f] = d.String()
	}
	for f, d := range hi {
		if l, ok := lo[f]; ok && l.Cmp(d) > 0 {
			return nil, false
		}
		if _, ok := lo[f]; !ok {
			attrs[f] = d.String()
		}
	}
	return attrs, true
}

// checkSameAs checks that the block stands verbatim (white space aside) in
// the file its marker names, where a test runs it.
func checkSameAs(t *testing.T, b docBlock) {
	data, err := os.ReadFile(filepath.Join("../..", b.sameAs))
	if err != nil {
		t.Fatalf("%s: same-as %s: %v", b, b.sameAs, err)
	}
	squash := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	if !strings.Contains(squash(string(data)), squash(b.text)) {
		t.Errorf("%s is not in %s as it stands: the README and the tested file differ", b, b.sameAs)
	}
}

// shellEnv is where shell examples run: a scratch working directory, the
// running sandbox's data directory (SANDBOX_DATA_DIR) and, once a block
// calls it, the sandbox binary on PATH.
type shellEnv struct {
	dataDir, workDir string
	once             sync.Once
	binDir           string
	buildErr         error
}

// path returns PATH with the sandbox binary first, building it on first use.
func (e *shellEnv) path(t *testing.T) string {
	e.once.Do(func() {
		e.binDir = filepath.Join(e.workDir, ".bin")
		out, err := exec.Command("go", "build", "-o", filepath.Join(e.binDir, "sandbox"), ".").CombinedOutput()
		if err != nil {
			e.buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if e.buildErr != nil {
		t.Fatal(e.buildErr)
	}
	return e.binDir + string(os.PathListSeparator) + os.Getenv("PATH")
}

// runCurlExample runs the block with bash and the real curl, which fails
// (exit 22) on any answer of 400 or more. `sandbox` commands in the block
// run the built binary with the running sandbox's data directory.
func runCurlExample(t *testing.T, b docBlock, addr string, sh *shellEnv) {
	script := strings.ReplaceAll(b.text, "127.0.0.1:8080", addr)
	script = strings.ReplaceAll(script, "localhost:8080", addr)
	cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c",
		`curl() { command curl --silent --show-error --fail-with-body --max-time 10 "$@"; echo; }`+"\n"+script)
	cmd.Dir = sh.workDir
	// No proxy from the environment: only a block's own --proxy is used.
	cmd.Env = append(os.Environ(), "http_proxy=", "https_proxy=", "HTTP_PROXY=", "HTTPS_PROXY=", "ALL_PROXY=", "all_proxy=",
		"SANDBOX_DATA_DIR="+sh.dataDir)
	if slices.ContainsFunc(shellCommands(b.text), func(c string) bool { return strings.HasPrefix(c, "sandbox ") }) {
		cmd.Env = append(cmd.Env, "PATH="+sh.path(t))
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("%s", out)
}

func onlySandboxCommands(text string) bool {
	for _, cmd := range shellCommands(text) {
		if !strings.HasPrefix(cmd, "sandbox ") {
			return false
		}
	}
	return len(shellCommands(text)) > 0
}

// shellCommands joins continuation lines and drops comments and blanks.
func shellCommands(text string) []string {
	var out []string
	cur := ""
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") || (line == "" && cur == "") {
			continue
		}
		if rest, ok := strings.CutSuffix(line, "\\"); ok {
			cur += rest + " "
			continue
		}
		out = append(out, strings.TrimSpace(cur+line))
		cur = ""
	}
	return out
}

// runSandboxExample runs each `sandbox …` command of the block in process.
func runSandboxExample(t *testing.T, b docBlock) {
	for _, cmd := range shellCommands(b.text) {
		args, err := shellWords(strings.TrimPrefix(cmd, "sandbox "))
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		if isServe(args) {
			t.Fatalf("%s starts a server that never returns: mark the block %q", cmd, skipMarker+" REASON -->")
		}
		var out bytes.Buffer
		if err := run(context.Background(), args, env(), &out, &out, nil); err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out.String())
		}
		t.Logf("$ %s\n%s", cmd, out.String())
	}
}

// shellWords splits a command line with single and double quotes.
func shellWords(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed quote")
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}
