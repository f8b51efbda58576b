package host

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/jobs"
)

// An upload a client never finished leaves a pending file whose URL has
// expired: no byte can reach it any more, and the module may never look
// at it again. The sweep removes such files, with whatever bytes a
// failed upload left.
const (
	// JobSweepFiles is the job of the sweep, every SweepFilesEvery.
	JobSweepFiles   = "plugins.files.sweep"
	SweepFilesEvery = time.Hour
	// abandonAfter is how long after its creation a pending file is
	// abandoned: an upload that began just before its URL expired may
	// still be arriving for a while (8 GiB over a slow line), and then
	// finds its file gone and keeps nothing.
	abandonAfter = uploadTTL + 24*time.Hour
	sweepBatch   = 500
)

// SweepFilesJob sweeps the abandoned uploads of every county that has
// modules.
func (s *Service) SweepFilesJob(ctx context.Context, _ jobs.Job) error {
	counties, err := s.repo.Counties(ctx)
	if err != nil {
		return err
	}
	var ready []string
	for _, c := range counties {
		// A county being removed, or not yet ready, is none of the
		// sweep's business.
		if s.tenants.Ready(ctx, c) == nil {
			ready = append(ready, c)
		}
	}
	n, err := SweepAbandonedFiles(ctx, s.manager.deps, ready, s.now())
	if n > 0 {
		s.manager.deps.Log.InfoContext(ctx, "abandoned uploads removed", "files", n)
	}
	return err
}

// SweepAbandonedFiles removes the files of counties still pending
// abandonAfter after they were created, as DeleteFile would: under the
// row's lock, the bytes and then the row. It returns how many it
// removed; a county that fails does not stop the others.
func SweepAbandonedFiles(ctx context.Context, d Deps, counties []string, now time.Time) (int, error) {
	if d.Blobs == nil {
		return 0, nil
	}
	before := now.UTC().Add(-abandonAfter)
	removed := 0
	var failed []error
	for _, county := range counties {
		n, err := sweepCounty(ctx, d, county, before)
		removed += n
		if err != nil {
			failed = append(failed, fmt.Errorf("abandoned uploads of %s: %w", county, err))
		}
	}
	return removed, errors.Join(failed...)
}

type pendingFile struct {
	Plugin string `db:"plugin"`
	File   string `db:"file_id"`
}

func sweepCounty(ctx context.Context, d Deps, county string, before time.Time) (int, error) {
	removed := 0
	for {
		var stale []pendingFile
		err := d.Router.InTenant(ctx, county, func(ctx context.Context, conn *sqlx.Conn) error {
			return conn.SelectContext(ctx, &stale, "SELECT plugin, file_id FROM plugin_files WHERE status = ? AND created_at < ? ORDER BY created_at LIMIT ?",
				filePending, before, sweepBatch)
		})
		if err != nil {
			return removed, fmt.Errorf("list pending files: %w", err)
		}
		for _, f := range stale {
			key, err := NewBlobKey(county, f.Plugin, f.File)
			if err != nil {
				return removed, err
			}
			gone := false
			err = d.Router.InTenantTx(ctx, county, func(ctx context.Context, tx *sqlx.Tx) error {
				// The upload may have finished since the list was read.
				locked, err := readFile(ctx, tx, f.Plugin, f.File, true)
				if errors.Is(err, errNoFile) || (err == nil && locked.Status != filePending) {
					return nil
				}
				if err != nil {
					return err
				}
				gone = true
				return deleteFile(ctx, tx, d.Blobs, key)
			})
			if err != nil {
				return removed, err
			}
			if gone {
				removed++
			}
		}
		if len(stale) < sweepBatch {
			return removed, nil
		}
	}
}
