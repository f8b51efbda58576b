package census

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/jobs"
)

// Jobs of this package. The sweep, scheduled every SweepEvery, queues a
// census of every ready county as a job of its own (JobCounty), which is
// retried alone should it fail.
const (
	JobSweep   = "census.sweep"
	JobCounty  = "census.county"
	SweepEvery = time.Hour
)

// Counties lists the counties whose census the sweep takes: every county
// that is ready.
type Counties interface {
	Counties(ctx context.Context) ([]string, error)
}

// Queue takes the counties' censuses (jobs.Queue).
type Queue interface {
	Enqueue(ctx context.Context, spec jobs.Spec) (jobs.Job, bool, error)
}

type countyPayload struct {
	Tenant string `json:"tenant"`
}

// SweepJob is JobSweep's handler: it queues a census of every ready
// county for j's period, each due at an offset of its own within the
// period (the same every period), so that a thousand counties are
// counted over the hour rather than all at its start. A county's job is
// keyed by the county and the period, so that a sweep retried, or run by
// two replicas, queues it once.
func (s *Service) SweepJob(ctx context.Context, j jobs.Job) error {
	codes, err := s.counties.Counties(ctx)
	if err != nil {
		return fmt.Errorf("list counties: %w", err)
	}
	period := j.RunAt.UTC().Truncate(SweepEvery)
	queued := 0
	for _, code := range codes {
		_, created, err := s.queue.Enqueue(ctx, jobs.Spec{
			Kind:    JobCounty,
			Tenant:  code,
			Payload: countyPayload{Tenant: code},
			Key:     fmt.Sprintf("%s:%s@%s", JobCounty, code, period.Format(time.RFC3339)),
			RunAt:   period.Add(offset(code)),
		})
		if err != nil {
			return fmt.Errorf("queue the census of %s: %w", code, err)
		}
		if created {
			queued++
		}
	}
	s.log.DebugContext(ctx, "censuses queued", "counties", queued, "period", period)
	return nil
}

// offset is county's place within a period, whole seconds.
func offset(county string) time.Duration {
	h := fnv.New32a()
	_, _ = h.Write([]byte(county))
	return time.Duration(h.Sum32()%uint32(SweepEvery/time.Second)) * time.Second
}

// CountyJob is JobCounty's handler: the census of the county its payload
// names. A county that is gone or no longer served is not retried; the
// next sweep queues it again once it is ready.
func (s *Service) CountyJob(ctx context.Context, j jobs.Job) error {
	var p countyPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.Tenant == "" {
		return jobs.Permanent(fmt.Errorf("census payload %s names no county", j.Payload))
	}
	res, err := s.Census(ctx, p.Tenant)
	if err != nil {
		switch errs.As(err).Kind {
		case errs.KindNotFound, errs.KindConflict:
			return jobs.Permanent(err)
		}
		return err
	}
	if res.Written > 0 {
		s.log.InfoContext(ctx, "census taken", "tenant", p.Tenant, "units", res.Units, "changed", res.Written)
	}
	return nil
}
