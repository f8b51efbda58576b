package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	kitjwt "github.com/go-kit/kit/auth/jwt"
	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/countycloud/countycloud/billing"
	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/egress"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/notify"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/web"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/host/sandbox"
	"github.com/countycloud/countycloud/tenants/calendar"
	"github.com/countycloud/countycloud/tenants/census"
	"github.com/countycloud/countycloud/tenants/org"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/rollout"
	"github.com/countycloud/countycloud/tenants/seals"
	"github.com/countycloud/countycloud/tenants/supervision"
	"github.com/countycloud/countycloud/tenants/workflow"
)

// platform wires the packages into one running server.
type platform struct {
	cfg         config.Server
	log         *slog.Logger
	db          *databases
	controlMigs *store.Migrations
	// locator is the one every request's way to a county's data asks.
	locator     *registry.Locator
	auth        *auth.Service
	trail       *audit.Trail
	tenants     registry.Service
	org         org.Service
	calendars   *calendar.Service
	measures    *measure.Service
	census      *census.Service
	seals       *seals.Service
	workflows   *workflow.Service
	notify      *notify.Service
	supervision *supervision.Service
	rollout     *rollout.Service
	billing     *billing.Service
	// webhooks receives Stripe's events and holds the counties of
	// accounts past due.
	webhooks  *billing.Webhooks
	lifecycle *billing.Lifecycle
	// subscriptions applies Stripe's subscription events and mails the
	// trial's notices.
	subscriptions *billing.SubscriptionEvents
	// billingSends says Stripe is configured: billing's jobs send its outbox.
	billingSends bool
	plugins      *host.Service
	// files serves the URLs of the modules' files (nil when files are off).
	files   http.Handler
	console *web.Console
	jobs    *jobs.Queue
	metrics *prometheus.Registry
	// announce shows the bootstrap token the one time it is created.
	announce func(token string)
}

func newPlatform(cfg config.Server, dbcfg *mysql.Config, log *slog.Logger, announce func(string)) (*platform, error) {
	db, err := openDatabases(cfg.Database, dbcfg, log)
	if err != nil {
		return nil, err
	}
	p, err := newPlatformOn(cfg, db, log, announce)
	if err != nil {
		db.close()
		return nil, err
	}
	return p, nil
}

// newPlatformOn wires the server on databases already open.
func newPlatformOn(cfg config.Server, db *databases, log *slog.Logger, announce func(string)) (*platform, error) {
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	db.registerMetrics(metrics)
	locator := db.locator()
	router := db.router(locator)
	trail := audit.NewTrail(router, db.control)
	calendars, err := calendar.NewService(router)
	if err != nil {
		return nil, err
	}
	sealKeys, err := sealKeyRing(cfg, log)
	if err != nil {
		return nil, err
	}
	sealer := seals.NewService(router, db.control, sealKeys, time.Now)
	mail, err := mailer(cfg.SMTP)
	if err != nil {
		return nil, err
	}
	tenants := db.tenantService(cfg.Database, store.TenantMigrations(), log)
	queue := jobs.NewQueue(db.control)
	if len(cfg.OutboundAllow) > 0 {
		log.Warn("counties' SMS gateways may be on these internal networks (--outbound-allow)", "networks", fmt.Sprint(cfg.OutboundAllow))
	}
	notifier := notify.New(router, queue, readyCounties{tenants}, mail, notify.Options{Outbound: egress.NewPolicy(cfg.OutboundAllow...)}, log)
	workflows := workflow.NewService(router, calendars, notifier, host.NewNamespaces(host.NewMySQLRepository(db.control), time.Now), time.Now, log)
	stripe, err := stripeClient(cfg.Stripe, log)
	if err != nil {
		return nil, err
	}
	charges := billing.New(db.control, queue, db.locks, stripe, registryLevels{tenants}, time.Now, log)
	modules := host.NewMySQLRepository(db.control)
	lifecycle := billing.NewLifecycle(charges, enabledModules{modules}, censusSeats{measure.NewService(router, measure.Catalogs{})})
	plugins, files, err := pluginService(cfg, db, router, billedModules{Repository: modules, life: lifecycle, log: log}, notifier, workflows, sealer, log)
	if err != nil {
		return nil, err
	}
	authCfg := auth.DefaultConfig()
	authCfg.Limits = auth.Limits{
		CountyPerSecond: cfg.RateLimitCounty, CountyBurst: burst(cfg.RateLimitCounty),
		AccountPerSecond: cfg.RateLimitAccount, AccountBurst: burst(cfg.RateLimitAccount),
	}
	identity := auth.New(authCfg, db.control, router, trail, measure.NewSignIns(router), locator, log)
	units := org.NewService(router, org.TellRenewals(identity))
	measures := measure.NewService(router, measure.Catalogs{workflows, plugins})
	counted := census.New(router, readyCounties{tenants}, queue, time.Now, log)
	billed := rolloutBilling{life: lifecycle, plans: rollout.New(db.control, tenants, orgUnits{units}, measures, time.Now, rollout.Options{})}
	progress := rollout.New(db.control, tenants, orgUnits{units}, measures, time.Now,
		rollout.Options{Automation: rolloutAutomation{plugins: plugins, notify: notifier, org: units, auth: identity}, Census: censusNow{counted},
			Reports:   trialReports{rollout.NewReports(db.control, tenants, orgUnits{units}, measures, queue, time.Now)},
			Listeners: []rollout.Listener{billed}, DatesListeners: []rollout.DatesListener{billed}})
	webhooks := billing.NewWebhooks(charges, billing.WebhookConfig{Secret: cfg.Stripe.WebhookSecret, Grace: cfg.Stripe.Grace, OneTrip: db.webhooks}, tenants)
	subscriptions := billing.NewSubscriptionEvents(lifecycle, mail)
	for eventType, handle := range subscriptions.Handlers() {
		if err := webhooks.Handle(eventType, handle); err != nil {
			return nil, err
		}
	}
	console, err := web.New(web.Options{Identity: identity, Guard: identity.Guard().For, SecureCookies: consoleCookiesSecure(cfg, log), Log: log,
		Rollout: consoleRollout{rollout: progress, registry: tenants}})
	if err != nil {
		return nil, err
	}
	return &platform{
		cfg:           cfg,
		log:           log,
		db:            db,
		controlMigs:   store.ControlMigrations(),
		locator:       locator,
		auth:          identity,
		trail:         trail,
		tenants:       tenants,
		org:           units,
		calendars:     calendars,
		measures:      measures,
		census:        counted,
		seals:         sealer,
		workflows:     workflows,
		notify:        notifier,
		supervision:   supervision.New(router, calendars, tenants, notifier, supervision.Options{}, log),
		rollout:       progress,
		billing:       charges,
		webhooks:      webhooks,
		lifecycle:     lifecycle,
		subscriptions: subscriptions,
		billingSends:  stripe != nil,
		plugins:       plugins,
		files:         files,
		console:       console,
		jobs:          queue,
		metrics:       metrics,
		announce:      announce,
	}, nil
}

// stripeClient is billing's client of Stripe, nil without a key: billing
// then keeps its calls to Stripe in the outbox until one is given.
func stripeClient(cfg config.Stripe, log *slog.Logger) (billing.Stripe, error) {
	if cfg.Key == "" {
		log.Warn("no " + config.EnvStripeKey + ": billing's calls to Stripe wait in its outbox until a key is given")
		return nil, nil
	}
	client, err := billing.NewStripe(billing.StripeConfig{Key: cfg.Key, URL: cfg.URL})
	if err != nil {
		return nil, fmt.Errorf("--stripe-url: %w", err)
	}
	return client, nil
}

// registryLevels tells billing the level of a tenant of the registry.
type registryLevels struct{ registry registry.Service }

func (r registryLevels) Level(ctx context.Context, code string) (string, error) {
	t, err := r.registry.Get(ctx, code)
	return string(t.Level), err
}

// sealKeyRing is the key units' seal keys are kept under: --seal-key's,
// or without one (dev mode, which keeps nothing) a random one.
func sealKeyRing(cfg config.Server, log *slog.Logger) (*seals.KeyRing, error) {
	if cfg.SealKey == "" {
		log.Warn("no --seal-key: units' seal keys are kept under a random key of this process; seals made now cannot sign after a restart (dev mode only)")
		return seals.NewEphemeralKeyRing(), nil
	}
	keys, err := seals.NewKeyRing(cfg.SealKey)
	if err != nil {
		return nil, fmt.Errorf("--seal-key: %w", err)
	}
	return keys, nil
}

// mailer is the SMTP channel of notifications, nil without a mail server.
func mailer(c config.SMTP) (notify.Sender, error) {
	if c.Addr == "" {
		return nil, nil
	}
	m, err := notify.NewMailer(notify.SMTPConfig{Addr: c.Addr, From: c.From, Username: c.Username, Password: c.Password})
	if err != nil {
		return nil, fmt.Errorf("--smtp-addr: %w", err)
	}
	return m, nil
}

// readyCounties lists the counties being served, for the notification
// and census sweeps and the fold of pending measures.
type readyCounties struct{ registry registry.Service }

func (c readyCounties) Counties(ctx context.Context) ([]string, error) {
	var codes []string
	req := registry.ListRequest{Level: string(registry.LevelCounty), Status: string(registry.StatusReady), Limit: registry.MaxPageSize}
	for {
		page, err := c.registry.List(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, t := range page.Tenants {
			codes = append(codes, t.Code)
		}
		if page.NextCursor == "" {
			return codes, nil
		}
		req.Cursor = page.NextCursor
	}
}

// pluginService is the plugin catalog and host, with the built-in modules
// this binary serves, and the handler of the modules' file URLs (nil when
// files are off).
func pluginService(cfg config.Server, db *databases, router *store.Router, repo host.Repository, outbox host.Outbox, workflows *workflow.Service, sealer *seals.Service, log *slog.Logger) (*host.Service, http.Handler, error) {
	builtins, err := builtinModules()
	if err != nil {
		return nil, nil, err
	}
	timeout := host.DefaultCallTimeout
	if cfg.PluginCallTimeout > 0 {
		timeout = cfg.PluginCallTimeout
	}
	// A capability lives as long as the call it was issued for may.
	deps := host.Deps{Capabilities: host.NewCapabilities(timeout, time.Now), Router: router, Log: log, Now: time.Now, CallTimeout: timeout, HostCallRate: cfg.PluginHostCalls,
		Callers: host.CapabilityCallers{}, Outbox: outbox, Workflows: pluginWorkflows{workflows}, Sealer: pluginSeals{sealer}}
	if deps.Sandbox, err = pluginSandbox(cfg, log); err != nil {
		return nil, nil, err
	}
	files, err := fileService(cfg, router, &deps, log)
	if err != nil {
		return nil, nil, err
	}
	opts := host.DefaultManagerOptions()
	if cfg.PluginMaxProcesses > 0 {
		opts.MaxProcesses = cfg.PluginMaxProcesses
	}
	if cfg.PluginCountyIdleTimeout > 0 {
		opts.CountyIdleTimeout = cfg.PluginCountyIdleTimeout
	}
	return host.NewService(repo, router, deps, opts, cfg.PluginDir, builtins), files, nil
}

// pluginSandbox is the sandbox of cfg, nil when it is off; the log says
// which protections plugins get on this host.
func pluginSandbox(cfg config.Server, log *slog.Logger) (host.Sandbox, error) {
	if cfg.PluginSandbox == "off" {
		log.Warn("plugin sandbox off (--plugin-sandbox=off): plugins run as this server's user and reach whatever it can")
		return nil, nil
	}
	uid, gid, err := cfg.PluginAccount()
	if err != nil {
		return nil, err
	}
	// The server did so before reading its secrets; a platform started
	// otherwise (tests) does so here.
	if err := sandbox.KeepSecrets(); err != nil {
		return nil, err
	}
	sb, err := sandbox.New(sandbox.Options{UID: uid, GID: gid, MemoryMiB: cfg.PluginMemoryMiB, OpenFiles: cfg.PluginOpenFiles, Processes: cfg.PluginProcesses, Lenient: cfg.Dev})
	if err != nil {
		if cfg.Dev {
			log.Warn("no plugin sandbox on this host: plugins run unconfined", "err", err)
			return nil, nil
		}
		return nil, fmt.Errorf("%w; pass --plugin-sandbox=off to run plugins unconfined", err)
	}
	prot := sb.Protections()
	log.Info("plugin sandbox", prot.LogAttrs()...)
	if err := prot.Essential(); err != nil {
		if !cfg.Dev {
			log.Error("vendors' plugins will not start", "err", err)
		} else {
			log.Warn("vendors' plugins start anyway in dev mode", "err", err)
		}
	}
	return sb, nil
}

// filesPath is where file URLs are served.
const filesPath = "/v1/files/"

// fileService sets up the modules' files in deps and returns the handler
// of their URLs, or nil without a signing key. They are kept in the S3
// bucket configured, else in --file-dir. In dev mode a random key and a
// temporary directory stand in.
func fileService(cfg config.Server, router *store.Router, deps *host.Deps, log *slog.Logger) (http.Handler, error) {
	key, dir := []byte(cfg.FileSigningKey), cfg.FileDir
	if cfg.Dev && len(key) == 0 {
		// Dev mode keeps nothing: the files go where the server's own
		// temporary directory is (see serve), removed when it ends.
		key, dir = []byte(rand.Text()+rand.Text()), filepath.Join(cfg.FileDir, "dev-files")
	}
	if len(key) == 0 {
		log.Warn("modules keep no files: set --file-signing-key (the same on every replica) to turn them on")
		return nil, nil
	}
	if len(key) < host.MinFileKeyBytes {
		return nil, fmt.Errorf("--file-signing-key has %d characters; use at least %d", len(key), host.MinFileKeyBytes)
	}
	blobs, err := blobStore(cfg, dir)
	if err != nil {
		return nil, err
	}
	deps.Blobs, deps.FileKey, deps.FileURL = blobs, key, strings.TrimSuffix(publicURL(cfg), "/")+strings.TrimSuffix(filesPath, "/")
	return host.NewFileHandler(key, blobs, router, time.Now, log)
}

// publicURL is where clients reach the platform: --public-url, else
// plain HTTP at --addr.
func publicURL(cfg config.Server) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	addr, _ := cfg.ListenAddr()
	return "http://" + addr
}

// consoleCookiesSecure says whether the console's cookies are Secure (sent
// over HTTPS only): wherever clients reach the platform other than by
// plain HTTP on the loopback or in dev mode. There (the tests, the
// README's tour, a demo) a browser would not send a Secure cookie back
// over http://, and the traffic never leaves the machine or carries only
// demo data that nothing keeps. A production platform on plain HTTP keeps
// them Secure all the same: its console then works only once a TLS proxy
// is in front and --public-url says https.
func consoleCookiesSecure(cfg config.Server, log *slog.Logger) bool {
	u, err := url.Parse(publicURL(cfg))
	if err != nil || u.Scheme != "http" {
		return true
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); cfg.Dev || host == "localhost" || (err == nil && ip.IsLoopback()) {
		return false
	}
	log.Warn("the console keeps its sessions in Secure cookies, which browsers send over HTTPS only: set --public-url to the https:// address clients use", "public_url", publicURL(cfg))
	return true
}

// blobStore is the S3 bucket of cfg if it names one, else dir.
func blobStore(cfg config.Server, dir string) (host.Blobs, error) {
	if s := cfg.S3; s.Bucket != "" {
		blobs, err := host.NewS3Blobs(host.S3Config{Endpoint: s.Endpoint, Insecure: s.Insecure, Region: s.Region, Bucket: s.Bucket, Prefix: s.Prefix,
			AccessKey: s.AccessKey, SecretKey: s.SecretKey})
		if err != nil {
			return nil, fmt.Errorf("--s3-bucket: %w", err)
		}
		return blobs, nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("--file-dir: %w", err)
	}
	blobs, err := host.NewLocalBlobs(dir)
	if err != nil {
		return nil, fmt.Errorf("--file-dir: %w", err)
	}
	return blobs, nil
}

// burst is the burst allowed over a rate: two seconds' worth.
func burst(perSecond float64) int { return max(1, int(2*perSecond)) }

// close stops the plugin processes and closes the databases.
func (p *platform) close() {
	p.plugins.Manager().Close()
	p.db.close()
}

// start brings the control plane up: its schema, its migrations (one
// replica at a time), a signing key and the bootstrap operator token.
func (p *platform) start(ctx context.Context) error {
	version, err := p.db.migrateControl(ctx, p.controlMigs)
	if err != nil {
		return err
	}
	p.log.Info("control plane migrated", "schema", p.db.controlSchema, "version", version)
	if err := p.seals.CheckKey(ctx); err != nil {
		return err
	}
	token, err := p.auth.Bootstrap(ctx, p.cfg.DevRootToken)
	if err != nil {
		return err
	}
	if token != "" {
		p.log.Info("bootstrap operator token created")
		p.announce(token)
	}
	if err := p.plugins.RegisterBuiltins(ctx); err != nil {
		return err
	}
	p.calendars.WarnOutlook(ctx, p.log, time.Now())
	return nil
}

func (p *platform) resume(ctx context.Context) error {
	n, err := registry.Resume(ctx, p.tenants, p.log)
	if n > 0 {
		p.log.Info("interrupted provisioning finished", "counties", n)
	}
	return err
}

// demoTenants seed dev mode: a province with a city and a few of its
// counties, and a district directly under a municipality. Wengyuan is left
// out for the README's tour to create.
var demoTenants = []registry.CreateRequest{
	{Code: "gd", Name: "广东省"},
	{Code: "gd.shaoguan", Name: "韶关市"},
	{Code: "gd.shaoguan.shixing", Name: "始兴县"},
	{Code: "gd.shaoguan.renhua", Name: "仁化县"},
	{Code: "gd.shaoguan.ruyuan", Name: "乳源瑶族自治县"},
	{Code: "bj", Name: "北京市"},
	{Code: "bj.haidian", Name: "海淀区", Level: string(registry.LevelCounty)},
}

func (p *platform) seedDemo(ctx context.Context) error {
	ctx = audit.WithActor(ctx, audit.Actor{Kind: "system", Login: "dev-seed"})
	for _, req := range demoTenants {
		_, err := p.tenants.Create(ctx, req)
		if err != nil && errs.CodeOf(err) != registry.CodeTenantExists {
			return fmt.Errorf("demo tenant %s: %w", req.Code, err)
		}
	}
	p.log.Info("dev demo data seeded", "tenants", len(demoTenants))
	return nil
}

// ready is /readyz's check: the control plane answers and is migrated at
// least to the version this binary expects. A newer control plane is fine:
// migrations only add (expand, then contract in a later release), so the
// old replicas of a rolling upgrade keep serving after the first new one
// migrated. Details go to the log, not to the unauthenticated caller.
func (p *platform) ready(ctx context.Context) error {
	v, err := p.controlMigs.Current(ctx, p.db.control)
	if err != nil {
		return errors.New("database unreachable")
	}
	if want := p.controlMigs.Latest(); v < want {
		return fmt.Errorf("control plane at migration %d, this binary needs %d", v, want)
	}
	return nil
}

// Background work the platform schedules itself.
const (
	jobPurge        = "jobs.purge"
	keepDoneJobs    = 7 * 24 * time.Hour
	rotateKeysEvery = 24 * time.Hour
)

// worker runs this replica's share of the background jobs.
func (p *platform) worker() *jobs.Worker {
	handlers := map[string]jobs.Handler{
		auth.JobRotateKeys: p.auth.RotateKeys,
		jobPurge: func(ctx context.Context, _ jobs.Job) error {
			n, err := p.jobs.PurgeDone(ctx, keepDoneJobs)
			p.log.InfoContext(ctx, "old jobs purged", "jobs", n)
			return err
		},
		notify.JobDrain:           p.notify.DrainJob,
		notify.JobSweep:           p.notify.SweepJob,
		supervision.JobSweep:      p.supervision.SweepJob,
		host.JobSweepFiles:        p.plugins.SweepFilesJob,
		rollout.JobSweep:          p.rollout.SweepJob,
		rollout.JobFirstPasswords: p.rollout.FirstPasswordsJob,
		rollout.JobOverview:       p.rollout.OverviewJob,
		census.JobSweep:           p.census.SweepJob,
		census.JobCounty:          p.census.CountyJob,
		calendar.JobCheckNational: func(ctx context.Context, _ jobs.Job) error {
			p.calendars.WarnOutlook(ctx, p.log, time.Now())
			return nil
		},
		rollout.JobHalfMonthReports: p.reports().HalfMonthJob,
		rollout.JobFeedbackSweep:    p.feedback().SweepJob,
		measure.JobFold: func(ctx context.Context, _ jobs.Job) error {
			codes, err := readyCounties{p.tenants}.Counties(ctx)
			if err != nil {
				return fmt.Errorf("list counties: %w", err)
			}
			return p.measures.FoldAll(ctx, codes)
		},
	}
	maps.Copy(handlers, p.webhooks.Jobs())
	maps.Copy(handlers, p.subscriptions.Jobs())
	billingSchedules := billing.WebhookSchedules()
	if p.billingSends {
		maps.Copy(handlers, p.billing.Jobs())
		maps.Copy(handlers, p.lifecycle.Jobs())
		billingSchedules = append(billingSchedules, append(billing.Schedules(), billing.LifecycleSchedules()...)...)
	}
	return jobs.NewWorker(p.jobs, handlers, jobs.Options{
		Concurrency: p.cfg.Workers,
		Drain:       p.cfg.ShutdownTimeout / 2,
		Schedules: append([]jobs.Schedule{
			{Kind: auth.JobRotateKeys, Every: rotateKeysEvery},
			{Kind: jobPurge, Every: 24 * time.Hour},
			{Kind: notify.JobSweep, Every: notify.SweepEvery},
			{Kind: supervision.JobSweep, Every: supervision.SweepEvery},
			{Kind: host.JobSweepFiles, Every: host.SweepFilesEvery},
			{Kind: census.JobSweep, Every: census.SweepEvery},
			{Kind: calendar.JobCheckNational, Every: calendar.CheckNationalEvery},
			{Kind: rollout.JobSweep, Every: rollout.SweepEvery},
			{Kind: rollout.JobFirstPasswords, Every: rollout.FirstPasswordsEvery},
			{Kind: rollout.JobOverview, Every: rollout.OverviewEvery},
			{Kind: rollout.JobHalfMonthReports, Every: rollout.ReportsSweepEvery},
			{Kind: rollout.JobFeedbackSweep, Every: rollout.FeedbackSweepEvery},
			{Kind: measure.JobFold, Every: measure.FoldEvery},
		}, billingSchedules...),
	}, p.log)
}

// routes are every endpoint of the API.
func (p *platform) routes() []kit.Route {
	opts := kit.ServerOptions(p.log, httptransport.ServerBefore(kitjwt.HTTPToContext(), auth.PathTenantToContext))
	guard := p.auth.Guard().For
	routes := kit.HealthRoutes(kit.Check{Name: "database", Run: p.ready})
	routes = append(routes, registry.Routes(registry.MakeEndpoints(p.tenants, guard), opts...)...)
	routes = append(routes, p.auth.Routes(opts...)...)
	routes = append(routes, p.trail.Routes(guard, opts...)...)
	routes = append(routes, p.jobs.Routes(guard, opts...)...)
	routes = append(routes, p.calendars.Routes(guard, opts...)...)
	routes = append(routes, p.measures.Routes(guard, opts...)...)
	routes = append(routes, p.seals.Routes(guard, opts...)...)
	routes = append(routes, p.workflows.Routes(guard, opts...)...)
	routes = append(routes, p.notify.Routes(guard, opts...)...)
	routes = append(routes, p.supervision.Routes(guard, opts...)...)
	routes = append(routes, p.rollout.Routes(guard, opts...)...)
	routes = append(routes, p.billing.Routes(guard, opts...)...)
	routes = append(routes, billing.NewStatus(p.lifecycle, p.webhooks, p.tenants).Routes(guard, opts...)...)
	routes = append(routes, p.billing.ReadingRoutes(strings.TrimSuffix(publicURL(p.cfg), "/")+"/console/", guard, opts...)...)
	routes = append(routes, p.webhooks.Routes()...)
	routes = append(routes, p.reports().Routes(guard, opts...)...)
	routes = append(routes, p.feedbackRoutes(guard, opts...)...)
	routes = append(routes, p.plugins.Routes(guard, opts...)...)
	routes = append(routes, p.plugins.PublicRoutes(host.PublicOptions{BodyLimit: p.cfg.PublicBodyLimit, PerSecond: p.cfg.PublicRate, Burst: burst(p.cfg.PublicRate)}, guard, opts...)...)
	if p.files != nil {
		// Signed URLs authorise themselves; uploads are as large as the
		// modules allow, so the API's body limit does not apply.
		for _, method := range []string{"GET", "HEAD", "PUT"} {
			routes = append(routes, kit.Route{Method: method, Pattern: filesPath + "{token}", Name: "files." + strings.ToLower(method), Handler: p.files, MaxBody: 1 << 40})
		}
	}
	routes = append(routes, p.console.Routes()...)
	return append(routes, org.Routes(p.org, guard, opts...)...)
}

func (p *platform) handler() http.Handler {
	return kit.TrustProxies(p.cfg.TrustedProxies, kit.Handler(p.log, p.metrics, p.routes()...))
}

// orgUnits lists a county's units for its rollout's checks.
type orgUnits struct{ org org.Service }

func (o orgUnits) Units(ctx context.Context, county string) ([]rollout.Unit, error) {
	units, err := o.org.ListUnits(ctx, county)
	if err != nil {
		return nil, err
	}
	out := make([]rollout.Unit, len(units))
	for i, u := range units {
		out[i] = rollout.Unit{ID: u.ID, Code: u.Code, Name: u.Name}
	}
	return out, nil
}

// rolloutAutomation does the rollout's automatic tasks with the
// platform's services, each harmless when done again.
type rolloutAutomation struct {
	plugins *host.Service
	notify  *notify.Service
	org     org.Service
	auth    *auth.Service
}

func (a rolloutAutomation) TextFirstPasswords(ctx context.Context, county string) (rollout.FirstPasswords, error) {
	texted, err := a.auth.TextFirstPasswords(ctx, county, a.notify)
	return rollout.FirstPasswords(texted), err
}

func (a rolloutAutomation) EnableModules(ctx context.Context, county string, modules []string) error {
	for _, m := range modules {
		if enabled, err := a.plugins.Module(ctx, county, m); err == nil && enabled.Enabled {
			continue
		}
		if _, err := a.plugins.Enable(ctx, county, m, "rollout", host.EnableInput{}); err != nil {
			return fmt.Errorf("enable %s: %w", m, err)
		}
	}
	return nil
}

// toEveryUnit sends a notice to every active account of the county, unit
// tree by unit tree.
func (a rolloutAutomation) toEveryUnit(ctx context.Context, county, subject, body string) error {
	units, err := a.org.ListUnits(ctx, county)
	if err != nil {
		return err
	}
	for _, u := range units {
		if u.ParentID != nil {
			continue
		}
		if _, err := a.notify.SendTest(ctx, county, notify.TestNotice{UnitID: u.ID, Subject: subject, Body: body}); err != nil {
			return fmt.Errorf("notify %s: %w", u.Name, err)
		}
	}
	return nil
}

func (a rolloutAutomation) SendTestNotices(ctx context.Context, county string) error {
	return a.toEveryUnit(ctx, county, "系统测试通知",
		"信息中心测试通知：请各单位收到后在系统中阅读本通知，并至少向信息中心回发 2 条测试通知、2 封测试邮件。")
}

func (a rolloutAutomation) AnnounceTrial(ctx context.Context, county, first, last string) error {
	return a.toEveryUnit(ctx, county, "试运行通知",
		fmt.Sprintf("系统试运行时间为 %s 至 %s。试运行期间实行双轨制：公文同时在网上和纸质流转（紧急和涉密件除外）；请各单位确定联系人，问题及时反馈信息中心。", first, last))
}

// censusNow takes a county's census for its rollout's gate.
type censusNow struct{ census *census.Service }

func (c censusNow) Census(ctx context.Context, county string) error {
	_, err := c.census.Census(ctx, county)
	return err
}

// trialReports makes the key units' end-of-trial usage reports when the
// rollout ends a trial.
type trialReports struct{ reports *rollout.ReportService }

func (r trialReports) EndOfTrial(ctx context.Context, county, first, last string) error {
	_, err := r.reports.EndOfTrial(ctx, county, first, last)
	return err
}
