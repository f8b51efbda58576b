package host

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/plugins/sdk"
)

// Deps is what a plugin process needs of the host.
type Deps struct {
	Capabilities *Capabilities
	Router       Router
	Log          *slog.Logger
	Now          func() time.Time
	// CallTimeout is the deadline of each call into a plugin;
	// DefaultCallTimeout if zero.
	CallTimeout time.Duration
	// Blobs keeps the bytes of the plugins' files. FileKey signs the URLs
	// through which clients send and fetch them, and FileURL is where
	// the handler NewFileHandler returns for the same key is mounted
	// (such as https://cc.example.gov.cn/v1/files), which the URLs
	// extend. Without them a plugin's file calls are refused.
	Blobs   Blobs
	FileKey []byte
	FileURL string
	// Callers names who made each request, whom a plugin's audit
	// entries are recorded against. Without it they are refused.
	Callers Callers
	// Outbox, if set, is kicked once a plugin's notifications commit, so
	// that their e-mail and SMS go at once rather than at the next sweep.
	Outbox Outbox
	// Workflows is the counties' workflow engine, which installs the
	// modules' workflows and runs them for their requests. Without it a
	// module that has workflows cannot be enabled.
	Workflows Workflows
	// Sealer signs documents with units' seals (tenants/seals). Without
	// it, or without Blobs, a plugin's Seal calls are refused.
	Sealer Sealer
	// CountyCalls bounds each county's host-service calls across every
	// plugin process; NewManager makes one for its processes if nil, and
	// a process launched alone has its own.
	CountyCalls *CountyCalls
	// Sandbox, if set, confines every plugin process; without it plugins
	// run as the host's user with nothing but their own environment.
	Sandbox Sandbox
	// HostCallRate is how many host-service calls a second each plugin
	// process may make, its share of the host and the database;
	// DefaultHostCallRate if zero.
	HostCallRate int
}

// DefaultHostCallRate is a plugin process's host-service calls a second
// unless Deps says otherwise: on two CPUs shared with the database, a
// quarter of the reads they serve, which keeps another county's requests
// within twice their idle latency while one plugin floods.
const DefaultHostCallRate = 1000

func (d Deps) hostCallRate() int {
	if d.HostCallRate > 0 {
		return d.HostCallRate
	}
	return DefaultHostCallRate
}

// DefaultCallTimeout is how long a call into a plugin may take unless
// Deps says otherwise.
const DefaultCallTimeout = 30 * time.Second

func (d Deps) callTimeout() time.Duration {
	if d.CallTimeout > 0 {
		return d.CallTimeout
	}
	return DefaultCallTimeout
}

// hostServer is the Host service of one plugin process: each of the
// services a plugin may call back, every call checked against the
// capability it carries. (The protocol is generated without the
// "unimplemented" stubs, so a service left out does not compile.)
type hostServer struct {
	*records
	*files
	*trail
	*notices
	*workflows
	// measures is a service of its own (measures.proto), served beside
	// Host on the same connection.
	measures *measures
	// receipts is a service of its own (receipts.proto), served beside
	// Host on the same connection.
	receipts *receipts
	// directory is a service of its own (directory.proto), served beside
	// Host on the same connection.
	directory *directory
	// numbers is a service of its own (numbers.proto), served beside
	// Host on the same connection.
	numbers *numbers
	// batches is a service of its own (batches.proto), served beside
	// Host on the same connection.
	batches *batches
	// uploads is a service of its own (uploads.proto), served beside
	// Host on the same connection.
	uploads *publicUploads
	// submissions is a service of its own (submissions.proto), served
	// beside Host on the same connection.
	submissions *submissions
	// downloads is a service of its own (downloads.proto), served beside
	// Host on the same connection.
	downloads *publicDownloads
}

func newHostServer(m sdk.Manifest, county string, d Deps) *hostServer {
	g := guard{plugin: m.ID, only: county, caps: d.Capabilities, log: d.Log}
	records := &records{guard: g, indexed: indexed(m), router: d.Router, now: d.Now}
	files := newFiles(g, d)
	workflows := &workflows{guard: g, engine: d.Workflows, local: localWorkflows(m), own: ownWorkflows(m), public: publicStart(m)}
	return &hostServer{
		records:     records,
		files:       files,
		trail:       &trail{guard: g, router: d.Router, callers: d.Callers, now: d.Now},
		notices:     &notices{guard: g, router: d.Router, outbox: d.Outbox, now: d.Now},
		workflows:   workflows,
		measures:    newMeasures(g, m, d),
		receipts:    &receipts{guard: g, router: d.Router, now: d.Now},
		directory:   &directory{guard: g, router: d.Router},
		numbers:     &numbers{records: records},
		batches:     &batches{records: records, callers: d.Callers},
		uploads:     &publicUploads{files: files},
		submissions: &submissions{records: records, flows: moduleWorkflows{workflows}, callers: d.Callers},
		downloads:   &publicDownloads{files: files},
	}
}

func newSeals(m sdk.Manifest, county string, d Deps) *seals {
	return &seals{guard: guard{plugin: m.ID, only: county, caps: d.Capabilities, log: d.Log}, router: d.Router, blobs: d.Blobs, sealer: d.Sealer}
}

func localWorkflows(m sdk.Manifest) map[string]bool {
	out := make(map[string]bool, len(m.Workflows))
	for code := range m.Workflows {
		out[code] = true
	}
	return out
}

// publicStart are the local codes of m's workflows a public route's
// anonymous caller may start.
func publicStart(m sdk.Manifest) map[string]bool {
	out := make(map[string]bool, len(m.PublicStart))
	for _, code := range m.PublicStart {
		out[code] = true
	}
	return out
}

// ownWorkflows are the codes of m's workflows as the counties know them.
func ownWorkflows(m sdk.Manifest) []string {
	out := make([]string, 0, len(m.Workflows))
	for _, local := range slices.Sorted(maps.Keys(m.Workflows)) {
		out = append(out, workflowCode(m.ID, local))
	}
	return out
}

func indexed(m sdk.Manifest) map[string][]string {
	out := make(map[string][]string, len(m.Collections))
	for name, c := range m.Collections {
		out[name] = c.Indexed
	}
	return out
}

// guard is what every service does first and last with a plugin's call:
// check that its capability is live and this plugin's, and keep the
// host's own faults from the plugin.
type guard struct {
	plugin string
	// only, if set, is the one county the plugin process serves: a
	// capability of another county, however it reached the process, is
	// refused there.
	only string
	caps *Capabilities
	log  *slog.Logger
}

// capability checks token and returns what it grants.
func (g guard) capability(token string) (Capability, error) {
	c, err := g.caps.Check(token)
	if err != nil {
		return Capability{}, status.Error(codes.PermissionDenied, err.Error())
	}
	if c.Plugin != g.plugin {
		return Capability{}, status.Errorf(codes.PermissionDenied, "the capability was issued to plugin %s, not %s", c.Plugin, g.plugin)
	}
	if g.only != "" && c.County != g.only {
		return Capability{}, status.Errorf(codes.PermissionDenied, "%v: the capability is of county %s, this process serves %s", ErrOtherCounty, c.County, g.only)
	}
	return c, nil
}

// CallerAnonymous is the kind of caller of a module's public route.
const CallerAnonymous = "anonymous"

// account checks token like capability, and refuses it if its request is
// an anonymous caller's (a public route's): what service does acts as an
// account (a notice is sent by someone, a workflow's tasks and history
// name who acted, a file is kept for someone), which an anonymous caller
// is not. Records and audit entries stay open to it, within the county
// and the module.
func (g guard) account(token, service string) (Capability, error) {
	c, err := g.capability(token)
	if err != nil {
		return Capability{}, err
	}
	if c.Caller.Kind == CallerAnonymous {
		return Capability{}, status.Errorf(codes.PermissionDenied, "%s act as an account, and the caller of this public route is anonymous", service)
	}
	return c, nil
}

// smsReminder refuses a call that asks for an SMS reminder (短信提醒)
// where the county has not allowed the plugin's: a plugin does not choose
// SMS over the accounts' preferences on its own, since an SMS costs the
// county money. Every service that can text someone asks it.
func (g guard) smsReminder(c Capability, asked bool) error {
	if asked && !c.SMSReminders {
		return status.Errorf(codes.PermissionDenied, "county %s has not allowed module %s to send SMS reminders: its settings of the module say %q: true to allow them", c.County, g.plugin, smsRemindersSetting)
	}
	return nil
}

// county checks token and returns the county it was issued for.
func (g guard) county(token string) (string, error) {
	c, err := g.capability(token)
	return c.County, err
}

// refusal is err as the plugin sees it: the caller's own mistakes (bad
// input, nothing found, a conflict, a refusal) with their message, as
// through the API; anything else as grpcError hides it.
func (g guard) refusal(ctx context.Context, err error) error {
	var e *errs.Error
	if !errors.As(err, &e) {
		return g.grpcError(ctx, err)
	}
	switch e.Kind {
	case errs.KindInvalid:
		return status.Error(codes.InvalidArgument, e.Message)
	case errs.KindNotFound:
		return status.Error(codes.NotFound, e.Message)
	case errs.KindConflict:
		return status.Error(codes.Aborted, e.Message)
	case errs.KindForbidden:
		return status.Error(codes.PermissionDenied, e.Message)
	}
	return g.grpcError(ctx, err)
}

// grpcError passes on a status the service chose and hides anything else
// behind a generic one: a plugin learns nothing of the host's database.
func (g guard) grpcError(ctx context.Context, err error) error {
	if st, ok := status.FromError(err); ok {
		return st.Err()
	}
	if errors.Is(err, store.ErrNotServed) {
		// The county was suspended (or removed) while its request was
		// under way: no fault of the host's, and nothing to hide.
		return status.Error(codes.Unavailable, "the county's data is not served now")
	}
	g.log.ErrorContext(ctx, "a plugin's call to the host failed", "plugin", g.plugin, "err", err)
	return status.Error(codes.Internal, "the host could not serve the call; it is logged")
}
