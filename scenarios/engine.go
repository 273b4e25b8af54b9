package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/paysandbox/sandbox/emulators"
)

// Engine holds the scenarios a sandbox knows, which one is active, and the
// matching state of each. It answers the providers' decisions. It is safe
// for concurrent use.
//
// Sources, highest precedence first when names collide: uploads (admin
// API), files of the scenarios directory, the file given to --scenario, the
// built-ins embedded in the binary.
type Engine struct {
	reg      *Registry
	log      *slog.Logger
	draw     func() float64
	dir      string
	onChange func()

	mu       sync.RWMutex
	builtin  map[string]*Scenario
	file     map[string]*Scenario // --scenario FILE
	dirFiles map[string]*dirFile  // path → last state
	uploads  map[string]*Scenario
	active   string
	states   map[*Scenario]*State
	onCount  func(name string) // SetCountHook (counters.go)
}

type dirFile struct {
	mod      time.Time
	size     int64
	good     *Scenario // last good version
	problems []Problem // of the current text, if broken
}

// Options configure an Engine.
type Options struct {
	Registry *Registry // default: Default
	Log      *slog.Logger
	// Draw returns values in [0, 1) for `probability` (the seeded scenario
	// stream under --seed).
	Draw func() float64
	// Dir is an optional directory of *.yaml / *.yml scenario files.
	Dir string
	// Active is the scenario in force for requests without a header: a name,
	// or the path of a scenario file. Default "default".
	Active string
	// OnChange is called after the set of scenarios or the active one changed.
	OnChange func()
	// Builtins replaces the embedded built-in files (tests); nil uses them.
	Builtins fs.FS
}

// DefaultScenario is the name of the scenario with no rules: only the
// providers' documented test behaviour.
const DefaultScenario = "default"

// NewEngine loads the built-ins (and the directory and --scenario file when
// given). A broken built-in, a broken --scenario file or an unknown active
// name is an error; broken directory files are reported by Problems and
// in the log, and left out.
func NewEngine(o Options) (*Engine, error) {
	if o.Registry == nil {
		o.Registry = Default
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Active == "" {
		o.Active = DefaultScenario
	}
	e := &Engine{
		reg: o.Registry, log: o.Log, draw: o.Draw, dir: o.Dir, onChange: o.OnChange,
		builtin: map[string]*Scenario{}, file: map[string]*Scenario{}, dirFiles: map[string]*dirFile{},
		uploads: map[string]*Scenario{}, states: map[*Scenario]*State{},
	}
	bfs := o.Builtins
	if bfs == nil {
		bfs = builtinFS()
	}
	var errs []error
	names, _ := fs.Glob(bfs, "*.yaml")
	for _, n := range names {
		data, err := fs.ReadFile(bfs, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s, err := Load("builtin/"+n, data, e.reg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.Source = "builtin"
		e.builtin[s.Name] = s
	}
	if e.dir != "" {
		if st, err := os.Stat(e.dir); err != nil || !st.IsDir() {
			errs = append(errs, fmt.Errorf("scenarios directory %q: not a readable directory", e.dir))
		} else {
			e.rescan(false)
		}
	}
	active := o.Active
	if looksLikeFile(active) {
		data, err := os.ReadFile(active)
		if err != nil {
			errs = append(errs, fmt.Errorf("scenario file: %w", err))
		} else if s, err := Load(active, data, e.reg); err != nil {
			errs = append(errs, err)
		} else {
			e.file[s.Name] = s
			active = s.Name
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if e.lookup(active) == nil {
		return nil, fmt.Errorf("unknown scenario %q; known: %s", active, strings.Join(e.known(), ", "))
	}
	e.active = active
	return e, nil
}

func looksLikeFile(s string) bool {
	return strings.ContainsRune(s, '/') || strings.HasSuffix(s, ".yaml") || strings.HasSuffix(s, ".yml")
}

// lookup returns the effective scenario of that name; e.mu is held.
func (e *Engine) lookup(name string) *Scenario {
	if s, ok := e.uploads[name]; ok {
		return s
	}
	for _, f := range e.dirFiles {
		if f.good != nil && f.good.Name == name {
			return f.good
		}
	}
	if s, ok := e.file[name]; ok {
		return s
	}
	return e.builtin[name]
}

// Lookup returns the scenario in force under that name.
func (e *Engine) Lookup(name string) (*Scenario, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	s := e.lookup(name)
	return s, s != nil
}

// known lists the names of every scenario, sorted; e.mu is held.
func (e *Engine) known() []string {
	set := map[string]bool{}
	for n := range e.builtin {
		set[n] = true
	}
	for n := range e.file {
		set[n] = true
	}
	for _, f := range e.dirFiles {
		if f.good != nil {
			set[f.good.Name] = true
		}
	}
	for n := range e.uploads {
		set[n] = true
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Names lists the names of every scenario, sorted.
func (e *Engine) Names() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.known()
}

// Active returns the name of the active scenario.
func (e *Engine) Active() string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.active
}

// SetActive makes the named scenario the one for requests without a header.
func (e *Engine) SetActive(name string) error {
	e.mu.Lock()
	if e.lookup(name) == nil {
		known := e.known()
		e.mu.Unlock()
		return &emulators.Error{Kind: emulators.NotFound, Msg: fmt.Sprintf("unknown scenario %q; known: %s", name, strings.Join(known, ", "))}
	}
	e.active = name
	e.mu.Unlock()
	e.log.Info("active scenario changed", "scenario", name)
	e.changed()
	return nil
}

// Resolve returns the scenario a request runs under: the X-Sandbox-Scenario
// header value when given (it must name a known scenario), else the active
// one. An unknown name is an *emulators.Error of kind UnknownScenario whose
// message lists the known names.
func (e *Engine) Resolve(header string) (string, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if header == "" {
		return e.active, nil
	}
	if e.lookup(header) != nil {
		return header, nil
	}
	msg := fmt.Sprintf("unknown scenario %q; known: %s", header, strings.Join(e.known(), ", "))
	return "", &emulators.Error{Kind: emulators.UnknownScenario, Msg: msg, Detail: msg}
}

// Decide takes a decision for provider at point under the named scenario
// ("" = the active one). A name that no longer exists decides nothing.
func (e *Engine) Decide(scenario, provider, point string, attrs Attrs) Plan {
	return e.DecideFunc(scenario, provider, point, func() Attrs { return attrs })
}

// DecideFunc is Decide with the attributes built only when the scenario has
// a rule for this provider and point: the hot paths (a create under the
// default scenario) skip building them.
func (e *Engine) DecideFunc(scenario, provider, point string, attrs func() Attrs) Plan {
	d := e.Bind(scenario, provider)
	return d.Decide(point, attrs)
}

// Decision is one request's consultation of the scenarios: the scenario
// (and its rule counters) resolved once, the request's attributes built at
// most once, and every point the request reaches decided against that same
// scenario, even when the active one changes meanwhile.
type Decision struct {
	e        *Engine
	scenario string
	provider string
	s        *Scenario
	st       *State
	built    Attrs
}

// Bind resolves scenario ("" = the active one) once for a request of
// provider.
func (e *Engine) Bind(scenario, provider string) Decision {
	e.mu.RLock()
	if scenario == "" {
		scenario = e.active
	}
	s := e.lookup(scenario)
	var st *State
	if s != nil {
		st = e.states[s]
	}
	e.mu.RUnlock()
	return Decision{e: e, scenario: scenario, provider: provider, s: s, st: st}
}

// Decide takes the decision at point. attrs builds the request's
// attributes; it is called once per Decision, the first time a point has
// rules. A scenario name that no longer exists decides nothing.
func (d *Decision) Decide(point string, attrs func() Attrs) Plan {
	if d.s == nil || !d.s.HasRules(d.provider, point) {
		return Plan{Scenario: d.scenario}
	}
	if d.st == nil {
		e := d.e
		e.mu.Lock()
		if d.st = e.states[d.s]; d.st == nil {
			d.st = NewState(e.draw)
			e.states[d.s] = d.st
		}
		e.mu.Unlock()
	}
	if d.built == nil {
		d.built = attrs()
	}
	p := Select(d.s, d.provider, point, d.built, d.st)
	if p.Matched {
		d.e.counted(d.s.Name)
	}
	return p
}

// ResetCounters forgets how often rules have applied (`times`), as a reset does.
func (e *Engine) ResetCounters() {
	e.mu.Lock()
	var names []string
	for s := range e.states {
		names = append(names, s.Name)
	}
	e.states = map[*Scenario]*State{}
	e.mu.Unlock()
	for _, n := range names {
		e.counted(n)
	}
}

// Limits of uploaded scenarios (issue #13): what uploads may hold in all,
// so that uploads cannot grow the sandbox's memory without bound.
const (
	MaxUploads     = 32
	MaxUploadBytes = 4 << 20
)

// Upload errors that are not problems of the text: ErrConflict (the name
// belongs to a built-in and the upload does not say replace: true, or a
// delete of a scenario that is not an upload) and ErrLimit (too many
// uploads or too many bytes in all).
var (
	ErrConflict = errors.New("conflict")
	ErrLimit    = errors.New("limit")
	ErrNotFound = errors.New("not found")
)

// Upload adds (or replaces) a scenario from YAML text. The text must name
// the scenario. Problems come back as a *LoadError; a name that would
// shadow a built-in without replace: true is ErrConflict, and going over
// MaxUploads or MaxUploadBytes is ErrLimit.
func (e *Engine) Upload(data []byte) (*Scenario, error) {
	s, err := Load("upload", data, e.reg)
	if err != nil {
		return nil, err
	}
	if !hasNameKey(data) {
		return nil, &LoadError{Problems: []Problem{{File: "upload", Msg: "an uploaded scenario needs a name: key"}}}
	}
	s.Source = "upload"
	e.mu.Lock()
	if _, builtin := e.builtin[s.Name]; builtin && !s.Replace {
		e.mu.Unlock()
		return nil, fmt.Errorf("%w: %q is a built-in scenario; add \"replace: true\" to the upload to replace it for every client", ErrConflict, s.Name)
	}
	old := e.uploads[s.Name]
	count, size := len(e.uploads), len(s.YAML)
	for _, u := range e.uploads {
		size += len(u.YAML)
	}
	if old != nil {
		count, size = count-1, size-len(old.YAML)
	}
	if count+1 > MaxUploads || size > MaxUploadBytes {
		e.mu.Unlock()
		return nil, fmt.Errorf("%w: uploads hold at most %d scenarios and %d bytes in all (%d and %d with this one): delete some with DELETE /_sandbox/api/scenarios/{name}",
			ErrLimit, MaxUploads, MaxUploadBytes, count+1, size)
	}
	e.uploads[s.Name] = s
	if old != nil {
		delete(e.states, old)
	}
	e.mu.Unlock()
	e.log.Info("scenario uploaded", "scenario", s.Name, "rules", len(s.Rules))
	e.changed()
	return s, nil
}

// Delete removes an uploaded scenario. Built-ins and files cannot be
// deleted (ErrConflict); an unknown upload is ErrNotFound. When the deleted
// scenario was active, the scenario of that name it shadowed stays active,
// or the default one when there is none.
func (e *Engine) Delete(name string) error {
	e.mu.Lock()
	s, ok := e.uploads[name]
	if !ok {
		exists := e.lookup(name) != nil
		e.mu.Unlock()
		if exists {
			return fmt.Errorf("%w: %q is not an uploaded scenario (built-in and file scenarios cannot be deleted)", ErrConflict, name)
		}
		return fmt.Errorf("%w: no uploaded scenario %q", ErrNotFound, name)
	}
	delete(e.uploads, name)
	delete(e.states, s)
	if e.active == name && e.lookup(name) == nil {
		e.active = DefaultScenario
	}
	e.mu.Unlock()
	e.log.Info("scenario deleted", "scenario", name)
	e.changed()
	return nil
}

func hasNameKey(data []byte) bool {
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.HasPrefix(line, "name:") {
			return true
		}
	}
	return false
}

// Info describes one scenario for the admin API.
type Info struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Source      string `json:"source"`
	Active      bool   `json:"active"`
	Rules       int    `json:"rules"`
	YAML        string `json:"yaml"`
}

// FileProblem is a directory file whose current text does not load.
type FileProblem struct {
	Path     string    `json:"path"`
	Problems []Problem `json:"problems"`
	// Kept is the name of the last good version still in force, if any.
	Kept string `json:"kept,omitempty"`
}

// List describes every scenario in force, sorted by name.
func (e *Engine) List() []Info {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []Info
	for _, n := range e.known() {
		s := e.lookup(n)
		out = append(out, Info{Name: s.Name, Description: s.Description, Source: s.Source,
			Active: n == e.active, Rules: len(s.Rules), YAML: string(s.YAML)})
	}
	return out
}

// Problems lists the directory files that currently fail to load.
func (e *Engine) Problems() []FileProblem {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []FileProblem
	for p, f := range e.dirFiles {
		if len(f.problems) > 0 {
			fp := FileProblem{Path: p, Problems: f.problems}
			if f.good != nil {
				fp.Kept = f.good.Name
			}
			out = append(out, fp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Rescan re-reads the scenarios directory now; Watch calls it periodically.
// It reports whether anything changed.
func (e *Engine) Rescan() bool { return e.rescan(true) }

func (e *Engine) rescan(notify bool) bool {
	if e.dir == "" {
		return false
	}
	entries, err := os.ReadDir(e.dir)
	if err != nil {
		e.log.Warn("scenarios directory unreadable", "dir", e.dir, "err", err)
		return false
	}
	seen := map[string]bool{}
	changed := false
	for _, de := range entries {
		name := de.Name()
		if de.IsDir() || !IsScenarioFile(name) {
			continue
		}
		path := filepath.Join(e.dir, name)
		seen[path] = true
		st, err := os.Stat(path)
		if err != nil {
			continue
		}
		e.mu.RLock()
		f := e.dirFiles[path]
		e.mu.RUnlock()
		if f != nil && f.mod.Equal(st.ModTime()) && f.size == st.Size() {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		s, lerr := Load(path, data, e.reg)
		e.mu.Lock()
		if f == nil {
			f = &dirFile{}
			e.dirFiles[path] = f
		}
		f.mod, f.size = st.ModTime(), st.Size()
		if lerr == nil {
			if other := e.dirOwner(s.Name, path); other != "" {
				lerr = duplicateName(path, s.Name, other)
			}
		}
		if lerr != nil {
			f.problems = Problems(lerr)
			if f.problems == nil {
				f.problems = []Problem{{File: path, Msg: lerr.Error()}}
			}
			e.mu.Unlock()
			if f.good != nil {
				e.log.Warn("scenario file broken; keeping its last good version", "file", path, "scenario", f.good.Name, "problems", lerr.Error())
			} else {
				e.log.Warn("scenario file broken", "file", path, "problems", lerr.Error())
			}
			changed = true
			continue
		}
		if f.good != nil {
			delete(e.states, f.good)
		}
		f.good, f.problems = s, nil
		e.mu.Unlock()
		e.log.Info("scenario loaded", "file", path, "scenario", s.Name, "rules", len(s.Rules))
		changed = true
	}
	e.mu.Lock()
	for path, f := range e.dirFiles {
		if !seen[path] {
			if f.good != nil {
				delete(e.states, f.good)
				e.log.Info("scenario file removed", "file", path, "scenario", f.good.Name)
			}
			delete(e.dirFiles, path)
			changed = true
		}
	}
	if e.active != "" && e.lookup(e.active) == nil {
		e.log.Warn("active scenario no longer exists; falling back to default", "scenario", e.active)
		e.active = DefaultScenario
	}
	e.mu.Unlock()
	if changed && notify {
		e.changed()
	}
	return changed
}

// dirOwner returns another directory file that defines name; e.mu is held.
func (e *Engine) dirOwner(name, except string) string {
	paths := make([]string, 0, len(e.dirFiles))
	for p := range e.dirFiles {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		if f := e.dirFiles[p]; p != except && f.good != nil && f.good.Name == name {
			return p
		}
	}
	return ""
}

// Watch re-reads the directory every interval until ctx ends.
func (e *Engine) Watch(ctx context.Context, interval time.Duration) {
	if e.dir == "" {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.Rescan()
		}
	}
}

func (e *Engine) changed() {
	if e.onChange != nil {
		e.onChange()
	}
}
