package web

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/core/store/storetest"
)

// sampleOverview is a test's rollout overview: five counties of two
// cities at every stage, computed at computedAt. It is the console's
// input, not the database: the identity behind the console is real.
type sampleOverview struct {
	computedAt time.Time
}

func (s sampleOverview) Overview(_ context.Context, f OverviewFilter) (Overview, error) {
	ov := Overview{Cities: sampleCities, Phases: samplePhases, ComputedAt: s.computedAt}
	for _, c := range sampleCounties() {
		phase := c.Phase.Code
		if phase == "" {
			phase = noPlan.Code
		}
		if (f.City == "" || c.City.Code == f.City) && (f.Phase == "" || phase == f.Phase) {
			ov.Counties = append(ov.Counties, c)
		}
	}
	return ov, nil
}

var (
	shaoguan      = Option{"gd.shaoguan", Label{"韶关市", "Shaoguan"}}
	qingyuan      = Option{"gd.qingyuan", Label{"清远市", "Qingyuan"}}
	sampleCities  = []Option{shaoguan, qingyuan}
	preparation   = Option{"preparation", Label{"前期准备", "Preparation"}}
	systemTesting = Option{"testing", Label{"系统测试", "System testing"}}
	trial         = Option{"trial", Label{"试运行", "Trial operation"}}
	formal        = Option{"formal", Label{"正式运行", "Formal operation"}}
	expansion     = Option{"expansion", Label{"拓展", "Expansion"}}
	noPlan        = Option{"none", Label{"未制定计划", "No plan"}}
	samplePhases  = []Option{preparation, systemTesting, trial, formal, expansion, noPlan}

	percent   = Label{"%", "%"}
	online    = Label{"公文网上办理率", "Documents handled online"}
	active    = Label{"活跃账号", "Active accounts"}
	feedback  = Label{"待处理反馈", "Open feedback"}
	approvals = Label{"审批事项网上办理率", "Approvals handled online"}
)

func sampleCounties() []CountyRollout {
	return []CountyRollout{
		{
			Code: "gd.shaoguan.wengyuan", Name: Label{"翁源县", "Wengyuan County"}, City: shaoguan, Phase: trial, DaysInPhase: 12,
			ChecksPassed: 4, ChecksTotal: 6,
			Blockers: []Blocker{
				{Check: Label{"每个重点单位完成 2 次发文流程", "Every key unit sent 2 documents through the whole flow"}, Figure: "11/13 ≥ 2", Missing: []string{"县财政局", "县教育局"}},
				{Check: online, Figure: "62.5 ≥ 80"},
			},
			Figures: []Figure{{Label: online, Value: 62.5, Unit: percent}, {Label: active, Value: 184}, {Label: feedback, Value: 3}},
		},
		{
			Code: "gd.shaoguan.lechang", Name: Label{"乐昌市", "Lechang"}, City: shaoguan, Phase: systemTesting, DaysInPhase: 5,
			ChecksPassed: 2, ChecksTotal: 5,
			Blockers: []Blocker{
				{Check: Label{"每个重点单位阅读 2 份测试通知", "Every key unit read the 2 test notices"}, Figure: "7/13 ≥ 2",
					Missing: []string{"市公安局", "市民政局", "市自然资源局", "市财政局", "市交通运输局"}, More: 1},
				{Check: Label{"每位用户登记手机号并收到短信提醒", "Every account holder has a mobile number with a delivered SMS reminder"}, Figure: "91.3% ≥ 100%"},
			},
			Figures: []Figure{{Label: active, Value: 96}, {Label: feedback, Value: 0}},
		},
		{
			Code: "gd.shaoguan.shixing", Name: Label{"始兴县", "Shixing County"}, City: shaoguan, Phase: formal, DaysInPhase: 48,
			ChecksPassed: 5, ChecksTotal: 5,
			Figures: []Figure{{Label: online, Value: 93.1, Unit: percent}, {Label: approvals, Value: 84, Unit: percent}, {Label: active, Value: 412}},
		},
		{
			Code: "gd.qingyuan.yingde", Name: Label{"英德市", "Yingde"}, City: qingyuan, Phase: preparation, DaysInPhase: 3,
			ChecksPassed: 1, ChecksTotal: 7,
			Blockers: []Blocker{
				{Check: Label{"组织机构已从编办导入", "Organisation imported from the staffing office"}, Figure: "0 ≥ 1"},
				{Check: Label{"每个重点单位有领导和文书", "Every key unit has a leader and a clerk"}, Figure: "11/13 ≥ 1", Missing: []string{"市发展和改革局", "市司法局"}},
			},
			Figures: []Figure{{Label: active, Value: 12}},
		},
		{
			Code: "gd.qingyuan.fogang", Name: Label{"佛冈县", "Fogang County"}, City: qingyuan, Phase: trial, DaysInPhase: 25,
			ChecksPassed: 6, ChecksTotal: 6,
			Figures: []Figure{{Label: online, Value: 81.4, Unit: percent}, {Label: active, Value: 230}, {Label: feedback, Value: 1}},
		},
		{Code: "gd.qingyuan.liannan", Name: Label{"连南瑶族自治县", "Liannan Yao Autonomous County"}, City: qingyuan},
	}
}

// operator is the test console's operator.
const (
	operatorLogin    = "zhang.wei"
	operatorPassword = "Shaoguan-2026#ops"
)

// testConsole is the console served as the platform serves it (kit's
// handler, its security headers and request ids), on a real identity
// service over the test's own control schema, with one operator.
type testConsole struct {
	url      string
	db       *storetest.DB
	identity *auth.Service
}

func startConsole(t testing.TB, overview RolloutOverview) *testConsole {
	t.Helper()
	db := storetest.New(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// Operators are the control plane's: no county is reached, so the
	// identity service needs no router.
	identity := auth.New(auth.DefaultConfig(), db.Control, nil, audit.NewTrail(nil, db.Control), nil, nil, log)
	ctx := context.Background()
	if _, err := identity.Bootstrap(ctx, ""); err != nil {
		t.Fatal(err)
	}
	added, err := identity.AddOperator(ctx, auth.OperatorInput{Login: operatorLogin, Name: "张伟"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := identity.Login(ctx, "", auth.Credentials{Login: operatorLogin, Password: added.Password}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := identity.ChangePassword(ctx, first.Principal, auth.PasswordChange{Current: added.Password, New: operatorPassword}); err != nil {
		t.Fatal(err)
	}
	console, err := New(Options{Identity: identity, Guard: identity.Guard().For, Rollout: overview, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(kit.Handler(log, prometheus.NewRegistry(), console.Routes()...))
	t.Cleanup(srv.Close)
	return &testConsole{url: srv.URL, db: db, identity: identity}
}
