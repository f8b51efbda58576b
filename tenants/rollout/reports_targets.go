package rollout

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/store"
)

// Target is a percentage the province wants a figure of the usage
// reports to reach: 80% of documents online, 80% of approvals handled
// online, a disclosure index of 90.
type Target struct {
	Figure  string    `json:"figure" db:"figure"`
	Label   Label     `json:"label"`
	Percent float64   `json:"percent" db:"percent"`
	SetBy   string    `json:"set_by" db:"set_by"`
	SetAt   time.Time `json:"set_at" db:"set_at"`
}

// TargetFigures are the figures the province may set a target for.
func TargetFigures() []string {
	var ids []string
	for _, f := range reportFigures {
		if f.targetable {
			ids = append(ids, f.id)
		}
	}
	return ids
}

func figureLabel(id string) Label {
	if i := slices.IndexFunc(reportFigures, func(f figureSpec) bool { return f.id == id }); i >= 0 {
		return reportFigures[i].label
	}
	return Label{ZH: id, EN: id}
}

// Targets are the province's targets, by figure.
func (s *ReportService) Targets(ctx context.Context) ([]Target, error) {
	targets := []Target{}
	if err := s.control.SelectContext(ctx, &targets, "SELECT figure, percent, set_by, set_at FROM rollout_targets ORDER BY figure"); err != nil {
		return nil, fmt.Errorf("read targets: %w", err)
	}
	for i := range targets {
		targets[i].Label = figureLabel(targets[i].Figure)
	}
	return targets, nil
}

func (s *ReportService) targetPercents(ctx context.Context) (map[string]float64, error) {
	targets, err := s.Targets(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]float64, len(targets))
	for _, t := range targets {
		m[t.Figure] = t.Percent
	}
	return m, nil
}

// checkTargets lists what is wrong with percents, a figure's target
// each.
func checkTargets(percents map[string]float64) Problems {
	var p Problems
	for _, id := range slices.Sorted(maps.Keys(percents)) {
		v := percents[id]
		switch {
		case !slices.Contains(TargetFigures(), id):
			p.add(id, "not a figure a target is set for; those are %s", strings.Join(TargetFigures(), ", "))
		case math.IsNaN(v) || v < 0 || v > 100 || math.Round(v*10) != v*10:
			p.add(id, "%v: a percentage from 0 to 100, with at most one decimal", v)
		}
	}
	return p
}

// SetTargets replaces the province's targets with percents, by figure,
// whole: a figure left out has no target any more. Targets with any
// problem change nothing. Reports generated before keep the targets they
// were generated with.
func (s *ReportService) SetTargets(ctx context.Context, percents map[string]float64) ([]Target, error) {
	if p := checkTargets(percents); len(p) > 0 {
		return nil, p.refuse(CodeInvalidTargets, "the targets")
	}
	before, err := s.Targets(ctx)
	if err != nil {
		return nil, err
	}
	by, at := audit.ActorFrom(ctx).Login, s.now().UTC()
	err = store.InTx(ctx, s.control, nil, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM rollout_targets"); err != nil {
			return fmt.Errorf("set targets: %w", err)
		}
		for _, id := range slices.Sorted(maps.Keys(percents)) {
			if _, err := tx.ExecContext(ctx, "INSERT INTO rollout_targets (figure, percent, set_by, set_at) VALUES (?, ?, ?, ?)", id, percents[id], by, at); err != nil {
				return fmt.Errorf("set targets: %w", err)
			}
		}
		return audit.Write(ctx, tx, audit.New(ctx, "rollout.targets.set", "rollout_targets", "province", before, percents))
	})
	if err != nil {
		return nil, err
	}
	return s.Targets(ctx)
}
