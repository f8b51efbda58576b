package host

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Measures are the measures of the modules tenant enabled, or once
// enabled: a module disabled keeps its figures readable, with their
// labels, as the version the county ran last declares them.
func (s *Service) Measures(ctx context.Context, tenant string) ([]measure.Definition, error) {
	modules, err := s.Modules(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var out []measure.Definition
	for _, m := range modules {
		e, err := s.entry(ctx, m.Plugin, m.Version)
		if err != nil {
			return nil, err
		}
		for _, d := range e.Manifest.Measures {
			out = append(out, definition(m.Plugin, d))
		}
	}
	return out, nil
}

// definition is d, declared by plugin, as the counties' figures name it.
func definition(plugin string, d sdk.MeasureDef) measure.Definition {
	return measure.Definition{
		ID:         d.ID,
		Label:      measure.Label{ZH: d.Label.ZH, EN: d.Label.EN},
		Counts:     measure.Label{ZH: d.Counts.ZH, EN: d.Counts.EN},
		CountyWide: d.CountyWide,
		Level:      d.Level,
		Module:     plugin,
	}
}

// measures records a plugin's figures in the county of each call: only
// those its manifest declares, for units of that county.
type measures struct {
	guard
	declared map[string]measure.Definition
	figures  *measure.Service
	now      func() time.Time
}

func newMeasures(g guard, m sdk.Manifest, d Deps) *measures {
	declared := make(map[string]measure.Definition, len(m.Measures))
	for _, def := range m.Measures {
		declared[def.ID] = definition(m.ID, def)
	}
	return &measures{guard: g, declared: declared, figures: measure.NewService(d.Router, nil), now: d.Now}
}

func (s *measures) Record(ctx context.Context, req *pluginv1.RecordMeasureRequest) (*pluginv1.RecordMeasureResponse, error) {
	county, err := s.county(req.GetCapability())
	if err != nil {
		return nil, err
	}
	def, ok := s.declared[req.GetMeasure()]
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "measure %q is not one plugin %s's manifest declares", req.GetMeasure(), s.plugin)
	}
	day := req.GetDay()
	if day == "" {
		day = measure.Day(s.now())
	}
	counted, err := s.figures.Record(ctx, county, def, measure.Recording{
		Measure: def.ID, Unit: req.GetUnitId(), Day: day, Delta: req.GetDelta(), Key: req.GetIdempotencyKey(),
	})
	if err != nil {
		switch e := errs.As(err); e.Kind {
		case errs.KindInvalid:
			return nil, status.Errorf(codes.InvalidArgument, "%s (%s)", e.Message, e.Code)
		case errs.KindConflict:
			return nil, status.Errorf(codes.AlreadyExists, "%s (%s)", e.Message, e.Code)
		}
		return nil, s.grpcError(ctx, err)
	}
	return &pluginv1.RecordMeasureResponse{Counted: counted}, nil
}
