package auth

// Rule says who may call a route. A route is allowed to a principal that
// holds any of Roles; RoleStaff stands for every account of the county,
// whatever its roles. Public routes need no token; Self routes are open to
// any authenticated principal for what is its own (its password, its API
// tokens). Write routes need the write scope on an API token. A vendor's
// token (KindVendor) reaches only the routes whose rule says Vendor.
//
// A write route of a county held for billing is refused to everyone
// (billing_suspended), except a Settling route called by an operator:
// what the province needs to settle the county's account.
type Rule struct {
	Public   bool
	Self     bool
	Roles    []string
	Write    bool
	Vendor   bool
	Settling bool
}

// RoleStaff is held by every account of a county.
const RoleStaff = "staff"

// RoleSupervisor is held by the staff of the supervising unit (监察员),
// who watch every unit's tasks against their time limits.
const RoleSupervisor = "supervisor"

// Policy is the one table of who may do what, keyed by route name. A
// route that is not in it is refused to everyone (the guard panics at
// start-up, so a new route without a rule never ships).
func Policy() map[string]Rule {
	var (
		operator    = []string{RoleOperator}
		countyAdmin = []string{RoleOperator, RoleCountyAdmin}
		unitAdmin   = []string{RoleOperator, RoleCountyAdmin, RoleUnitAdmin}
		staff       = []string{RoleOperator, RoleStaff}
		accounts    = []string{RoleStaff}
		supervision = []string{RoleOperator, RoleCountyAdmin, RoleSupervisor}
	)
	read := func(roles []string) Rule { return Rule{Roles: roles} }
	write := func(roles []string) Rule { return Rule{Roles: roles, Write: true} }
	// settling is a write an operator may still make on a county held for
	// billing: the registry's record of the county (its status, the hold
	// itself) and the modules it pays for (a subscription's items), with
	// which the province settles the account. The county's own data
	// stays read-only, to operators too.
	settling := func(roles []string) Rule { return Rule{Roles: roles, Write: true, Settling: true} }
	return map[string]Rule{
		// The province's registry of counties.
		"tenant.create": write(operator),
		"tenant.list":   read(operator),
		"tenant.get":    read(countyAdmin),
		"tenant.update": settling(operator),
		"tenant.retry":  settling(operator),
		"tenant.hold":   settling(operator),
		"tenant.unhold": settling(operator),

		// A county's organisation.
		"org.units.list":      read(staff),
		"org.units.get":       read(staff),
		"org.units.create":    write(countyAdmin),
		"org.units.update":    write(countyAdmin),
		"org.accounts.list":   read(staff),
		"org.accounts.get":    read(staff),
		"org.accounts.create": write(unitAdmin),
		"org.accounts.update": write(unitAdmin),
		"org.roles.list":      read(staff),
		"org.roles.create":    write(countyAdmin),
		"org.quota.list":      read(unitAdmin),
		"org.quota.request":   write(unitAdmin),
		"org.quota.approve":   write(countyAdmin),
		"org.quota.reject":    write(countyAdmin),
		"org.template":        read(countyAdmin),
		"org.import":          write(countyAdmin),

		// The plugin catalog, a county's modules, and the modules' own
		// routes (each module checks its callers' roles itself).
		"plugin.list":      read(operator),
		"plugin.register":  write(operator),
		"plugin.processes": read(operator),
		"module.list":      read(countyAdmin),
		"module.get":       read(countyAdmin),
		"module.enable":    settling(countyAdmin),
		"module.disable":   settling(countyAdmin),
		"module.read":      read(staff),
		"module.write":     write(staff),
		// The modules' file URLs, which their signature authorises.
		"files.get":  {Public: true},
		"files.head": {Public: true},
		"files.put":  {Public: true},

		// A county's working-day calendar.
		"calendar.year":            read(staff),
		"calendar.override.set":    write(countyAdmin),
		"calendar.override.delete": write(countyAdmin),

		// A county's usage figures: its administrators and the province's
		// operators read every unit's, a unit admin those of the units
		// they reach (measure.Service.Read checks).
		"measures.read": read(unitAdmin),

		// Units' electronic seals: the county's admins keep them; anyone
		// verifies a sealed document.
		"seals.list":   read(countyAdmin),
		"seals.create": write(countyAdmin),
		"seals.rotate": write(countyAdmin),
		"seals.revoke": write(countyAdmin),
		"seals.verify": {Public: true},

		// Workflows: their owners (the province, a module's vendor) put
		// definitions, the county localises them, its staff run them.
		"workflow.definitions.list":      read(staff),
		"workflow.definitions.get":       read(staff),
		"workflow.definitions.put":       write(operator),
		"workflow.definitions.localize":  write(countyAdmin),
		"workflow.instances.start":       write(accounts),
		"workflow.instances.get":         read(staff),
		"workflow.instances.distributed": read(staff),
		"workflow.instances.withdraw":    write(accounts),
		"workflow.instances.suspend":     write(accounts),
		"workflow.instances.resume":      write(accounts),
		"workflow.tasks.inbox":           read(staff),
		"workflow.tasks.act":             write(accounts),

		// Electronic supervision.
		"supervision.settings.get":  read(supervision),
		"supervision.settings.set":  write(countyAdmin),
		"supervision.tasks.list":    read(supervision),
		"supervision.task.escalate": write(supervision),
		"supervision.task.reassign": write(supervision),
		"supervision.stats":         read(supervision),
		"supervision.events.list":   read(supervision),

		// Notifications. Everyone's inbox and preferences are their own
		// (an operator has none); the outbox, the SMS gateway and test
		// notices are the county admin's.
		"notifications.inbox":           {Self: true},
		"notifications.read":            {Self: true, Write: true},
		"notifications.preferences.get": {Self: true},
		"notifications.preferences.set": {Self: true, Write: true},
		"notifications.sms_gateway.get": read(countyAdmin),
		"notifications.sms_gateway.set": write(countyAdmin),
		"notifications.outbox":          read(countyAdmin),
		"notifications.retry":           write(countyAdmin),
		"notifications.test":            write(countyAdmin),

		// A county's public pages, for citizens and enterprises.
		"org.public.units": {Public: true},
		// A module's public routes: the host lets through only what its
		// manifest opens to anyone, at each address's own rate.
		"module.public": {Public: true},

		// Identity.
		"auth.operator.login":  {Public: true},
		"auth.account.login":   {Public: true},
		"auth.refresh":         {Public: true},
		"auth.logout":          {Self: true},
		"auth.me":              {Self: true},
		"auth.password.change": {Self: true},
		"auth.tokens.list":     {Self: true},
		"auth.tokens.create":   {Self: true, Write: true},
		"auth.tokens.revoke":   {Self: true, Write: true},
		"auth.password.reset":  write(countyAdmin),
		"auth.credentials":     write(countyAdmin),
		// A unit admin reissues within their unit (auth.CheckReach).
		"auth.credentials.reissue": write(unitAdmin),
		"auth.operators.add":       write(operator),
		"auth.operators.reset":     write(operator),

		// The audit trail.
		"audit.list":          read(countyAdmin),
		"audit.province.list": read(operator),

		// Rollout: the province's operators keep the templates, plan each
		// county and move it through its gates; a county's admins read
		// where it stands and mark their own manual tasks done.
		"rollout.overview":       read(operator),
		"rollout.templates.list": read(operator),
		"rollout.templates.put":  write(operator),
		"rollout.plan.create":    write(operator),
		"rollout.plan.get":       read(countyAdmin),
		"rollout.plan.edit":      write(operator),
		"rollout.status":         read(countyAdmin),
		"rollout.advance":        write(operator),
		"rollout.waive":          write(operator),
		"rollout.task.done":      write(countyAdmin),
		"rollout.changes":        read(countyAdmin),

		// Rollout usage reports: the province's operators list every
		// county's, set the targets and generate a missed half-month's;
		// a county's admins read their own county's.
		"rollout.reports.list":        read(operator),
		"rollout.reports.get":         read(operator),
		"rollout.targets.get":         read(operator),
		"rollout.targets.set":         write(operator),
		"rollout.county.reports.list": read(countyAdmin),
		"rollout.county.reports.get":  read(countyAdmin),
		"rollout.reports.generate":    write(operator),

		// The admin console (core/web): its login is anyone's, its logout
		// one's own, and the provincial rollout overview the operators'.
		"console.login":   {Public: true},
		"console.logout":  {Self: true},
		"console.rollout": read(operator),

		// Trial feedback: a unit's staff report on a module and confirm or
		// reopen the answer, for the units they reach (auth.CheckReach);
		// the county's IT office and the province's operators triage and
		// assign; the module's vendor answers, with a token the operators
		// issue, on its own modules alone (the service checks whose).
		"rollout.feedback.list":     {Roles: staff, Vendor: true},
		"rollout.feedback.get":      {Roles: staff, Vendor: true},
		"rollout.feedback.report":   write(accounts),
		"rollout.feedback.assign":   write(countyAdmin),
		"rollout.feedback.answer":   {Vendor: true, Write: true},
		"rollout.feedback.confirm":  write(accounts),
		"rollout.feedback.reopen":   write(accounts),
		"rollout.feedback.vendor":   {Vendor: true},
		"auth.vendor_tokens.list":   read(operator),
		"auth.vendor_tokens.create": write(operator),
		"auth.vendor_tokens.revoke": write(operator),

		// Background jobs.
		"jobs.list":  read(operator),
		"jobs.get":   read(operator),
		"jobs.retry": write(operator),

		// Billing: the province's IT office keeps the accounts that pay,
		// the catalogue and the calls to Stripe; a county's admins read
		// their own county's status, so that a county made read-only
		// learns why and until when. Moving a held county to another
		// account is part of settling it.
		"billing.accounts.list":     read(operator),
		"billing.accounts.create":   write(operator),
		"billing.accounts.get":      read(operator),
		"billing.accounts.update":   write(operator),
		"billing.accounts.invoices": read(operator),
		"billing.accounts.portal":   write(operator),
		"billing.county.get":        read(countyAdmin),
		"billing.county.assign":     settling(operator),
		"billing.prices":            read(operator),
		"billing.sync":              write(operator),
		"billing.outbox":            read(operator),
		// Stripe calls it; its signature is its authentication.
		"billing.stripe.webhook": {Public: true},
	}
}
