package host

import (
	"context"

	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/plugins/sdk"
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
		Module:     plugin,
	}
}
