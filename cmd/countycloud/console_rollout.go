package main

import (
	"context"
	"slices"

	"github.com/countycloud/countycloud/core/web"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/rollout"
)

// consoleRollout is the provincial overview as the console shows it: the
// rollout's aggregates, with every city of the registry and every phase
// to filter by.
type consoleRollout struct {
	rollout  *rollout.Service
	registry registry.Service
}

func (c consoleRollout) Overview(ctx context.Context, f web.OverviewFilter) (web.Overview, error) {
	o, err := c.rollout.Overview(ctx, rollout.OverviewFilter{City: f.City, Phase: f.Phase})
	if err != nil {
		return web.Overview{}, err
	}
	cities, err := c.cities(ctx)
	if err != nil {
		return web.Overview{}, err
	}
	out := web.Overview{Cities: cities, Counties: make([]web.CountyRollout, len(o.Counties))}
	for _, p := range rollout.Phases() {
		out.Phases = append(out.Phases, web.Option{Code: p, Label: webLabel(rollout.PhaseLabel(p))})
	}
	out.Phases = append(out.Phases, web.Option{Code: "none", Label: web.Label{ZH: "未制定计划", EN: "No plan"}})
	for i, row := range o.Counties {
		county := web.CountyRollout{Code: row.County, Name: web.Label{ZH: row.Name}, DaysInPhase: row.DaysInPhase,
			ChecksPassed: row.Passed, ChecksTotal: row.Total}
		if j := slices.IndexFunc(cities, func(o web.Option) bool { return o.Code == row.City }); j >= 0 {
			county.City = cities[j]
		}
		if row.Phase != "" {
			county.Phase = web.Option{Code: row.Phase, Label: webLabel(row.PhaseLabel)}
		}
		for _, b := range row.Blockers {
			county.Blockers = append(county.Blockers, web.Blocker{Check: webLabel(b.Name), Figure: b.Figure, Missing: b.Missing, More: b.More})
		}
		for _, f := range row.Figures {
			county.Figures = append(county.Figures, web.Figure{Label: webLabel(f.Label), Value: float64(f.Value)})
		}
		if row.ComputedAt != nil && (out.ComputedAt.IsZero() || row.ComputedAt.Before(out.ComputedAt)) {
			out.ComputedAt = *row.ComputedAt
		}
		out.Counties[i] = county
	}
	return out, nil
}

// cities are every city of the registry, by code.
func (c consoleRollout) cities(ctx context.Context) ([]web.Option, error) {
	var out []web.Option
	req := registry.ListRequest{Level: string(registry.LevelCity), Limit: registry.MaxPageSize}
	for {
		page, err := c.registry.List(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, t := range page.Tenants {
			out = append(out, web.Option{Code: t.Code, Label: web.Label{ZH: t.Name}})
		}
		if page.NextCursor == "" {
			return out, nil
		}
		req.Cursor = page.NextCursor
	}
}

func webLabel(l rollout.Label) web.Label { return web.Label{ZH: l.ZH, EN: l.EN} }
