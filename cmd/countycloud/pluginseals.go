package main

import (
	"context"
	"encoding/json"

	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/tenants/seals"
)

// pluginSeals is the units' seals as the plugin host reaches them: the
// host has checked who may seal and digested the files; the seals
// service signs with the unit's key, which stays in this process.
type pluginSeals struct{ svc *seals.Service }

var _ host.Sealer = pluginSeals{}

func (p pluginSeals) Sign(ctx context.Context, county string, unit int64, files []host.SealFile) (json.RawMessage, error) {
	list := make([]seals.File, len(files))
	for i, f := range files {
		list[i] = seals.File{Name: f.Name, SM3: f.SM3}
	}
	seal, err := p.svc.Sign(ctx, county, unit, list)
	if err != nil {
		return nil, err
	}
	return json.Marshal(seal)
}
