package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// PluginName is the name under which a plugin process offers its module
// to the host.
const PluginName = "module"

// Module is what a plugin implements: it serves the requests the host
// routes to /v1/tenants/{code}/modules/{id}/….
type Module interface {
	Handle(ctx context.Context, r *Request) (*Response, error)
}

// Request is one request to the module, in one county. The county itself
// is not in it: the plugin reaches the county's data only through Host,
// which the host scopes to the county of this request.
type Request struct {
	Method string
	// Path is the part after the module's prefix, starting with a slash.
	Path      string
	Query     string
	Header    map[string]string
	Body      []byte
	Caller    Caller
	RequestID string
	// Settings are the county's settings of the module, a JSON object
	// the manifest's settings schema accepted ({} if it gave none).
	Settings json.RawMessage
	// County stands for the request's county without naming it: the
	// same for every request of one county to this process, another for
	// every other county. Key by it whatever is kept between requests,
	// so that no county is answered from another's. Empty from a host
	// that does not give one: keep nothing then.
	County string
	// Host is the host's services, for this request only.
	Host *Host
}

// Caller is who made the request, as the host authenticated them.
type Caller struct {
	// Kind is CallerAccount, CallerOperator or, on a public route,
	// CallerAnonymous.
	Kind      string
	Login     string
	AccountID int64
	UnitID    int64
	Roles     []string
	// Address is an anonymous caller's network address, as the host saw
	// it; empty for an account or an operator.
	Address string
}

// Kinds of caller.
const (
	// CallerAccount is an account of the county.
	CallerAccount = "account"
	// CallerOperator is an operator of the province's IT office.
	CallerOperator = "operator"
	// CallerAnonymous is anyone, without a token, on one of the
	// manifest's public routes: Login is "anonymous", there is no
	// account, unit or role, and the host refuses it the services that
	// act as an account (notices, workflows, files).
	CallerAnonymous = "anonymous"
)

// Response is the module's answer. A Status of 0 means 200.
type Response struct {
	Status int
	Header map[string]string
	Body   []byte
}

// Serve runs the module as a plugin process until the host stops it. It
// is all a plugin's main needs to call.
func Serve(manifest Manifest, m Module) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake(),
		Plugins:         plugin.PluginSet{PluginName: &modulePlugin{manifest: manifest, module: m}},
		GRPCServer:      newServer,
	})
}

// newServer is go-plugin's gRPC server with a pool of stream workers: a
// call is served on a goroutine that served others, whose stack has grown
// already, rather than on a new one that grows its stack for each call
// (a tenth of the plugin's CPU per call, measured). gRPC starts a new
// goroutine for a call that finds every worker busy, and a request that
// calls the host keeps its worker until the host answers: so there are
// as many as the calls a plugin has under way while it waits for the
// host (the host serves 16 of a process's at once and queues others),
// not only a few per CPU.
func newServer(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(opts, grpc.NumStreamWorkers(uint32(max(4*runtime.GOMAXPROCS(0), streamWorkers))))...)
}

// streamWorkers is the fewest stream workers a plugin's server has; an
// idle one costs a goroutine's smallest stack.
const streamWorkers = 64

// modulePlugin is the plugin side of go-plugin's gRPC plugin.
type modulePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	manifest Manifest
	module   Module
}

func (p *modulePlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterModuleServer(s, &moduleServer{manifest: p.manifest, module: p.module, broker: broker})
	return nil
}

// GRPCClient is the host's side, which the host implements itself.
func (p *modulePlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("sdk: a plugin does not dispense itself")
}

type moduleServer struct {
	manifest Manifest
	module   Module
	broker   *plugin.GRPCBroker

	mu        sync.Mutex
	host      pluginv1.HostClient
	seals     pluginv1.SealsClient
	measures  pluginv1.MeasuresClient
	receipts  pluginv1.ReceiptsClient
	numbers   pluginv1.NumbersClient
	workflows pluginv1.HostWorkflowsClient
	directory pluginv1.DirectoryClient
	batches   pluginv1.BatchesClient
	// suspension is the host's HostSuspension service.
	suspension pluginv1.HostSuspensionClient
	// uploads is the host's PublicUploads service.
	uploads pluginv1.PublicUploadsClient
	// submissions is the host's Submissions service.
	submissions pluginv1.SubmissionsClient
	// downloads is the host's PublicDownloads service.
	downloads pluginv1.PublicDownloadsClient
}

// Manifest answers the host's first call, which also names the broker
// id of the host's services: the plugin dials them once, for the life of
// the process.
func (s *moduleServer) Manifest(_ context.Context, req *pluginv1.ManifestRequest) (*pluginv1.ManifestResponse, error) {
	conn, err := s.broker.Dial(req.GetHostServices())
	if err != nil {
		return nil, fmt.Errorf("dial the host's services: %w", err)
	}
	s.mu.Lock()
	s.host = pluginv1.NewHostClient(conn)
	s.seals = pluginv1.NewSealsClient(conn)
	s.measures = pluginv1.NewMeasuresClient(conn)
	s.receipts = pluginv1.NewReceiptsClient(conn)
	s.numbers = pluginv1.NewNumbersClient(conn)
	s.workflows = pluginv1.NewHostWorkflowsClient(conn)
	s.suspension = pluginv1.NewHostSuspensionClient(conn)
	s.directory = pluginv1.NewDirectoryClient(conn)
	s.batches = pluginv1.NewBatchesClient(conn)
	s.uploads = pluginv1.NewPublicUploadsClient(conn)
	s.submissions = pluginv1.NewSubmissionsClient(conn)
	s.downloads = pluginv1.NewPublicDownloadsClient(conn)
	s.mu.Unlock()
	data, err := s.manifest.JSON()
	if err != nil {
		return nil, err
	}
	return &pluginv1.ManifestResponse{Manifest: data}, nil
}

func (s *moduleServer) Handle(ctx context.Context, req *pluginv1.HandleRequest) (*pluginv1.HandleResponse, error) {
	s.mu.Lock()
	host, seals, measures, receipts, numbers, workflows, directory, batches := s.host, s.seals, s.measures, s.receipts, s.numbers, s.workflows, s.directory, s.batches
	suspension, uploads, submissions, downloads := s.suspension, s.uploads, s.submissions, s.downloads
	s.mu.Unlock()
	c := req.GetCaller()
	r := &Request{
		Method: req.GetMethod(), Path: req.GetPath(), Query: req.GetQuery(), Header: req.GetHeaders(), Body: req.GetBody(),
		Caller:    Caller{Kind: c.GetKind(), Login: c.GetLogin(), AccountID: c.GetAccountId(), UnitID: c.GetUnitId(), Roles: c.GetRoles(), Address: c.GetAddress()},
		RequestID: req.GetRequestId(),
		Settings:  req.GetSettings(),
		County:    req.GetCountyKey(),
		Host: &Host{client: host, seals: seals, measures: measures, receipts: receipts, numbers: numbers, workflows: workflows, directory: directory,
			batches: batches, suspension: suspension, uploads: uploads, submissions: submissions, downloads: downloads, capability: req.GetCapability(),
			checksUnchanged: slices.Contains(req.GetHostFeatures(), FeatureSubmitUnchanged)},
	}
	resp, err := s.module.Handle(ctx, r)
	if err != nil {
		return nil, err
	}
	status := resp.Status
	if status == 0 {
		status = 200
	}
	return &pluginv1.HandleResponse{Status: int32(status), Headers: resp.Header, Body: resp.Body}, nil
}
