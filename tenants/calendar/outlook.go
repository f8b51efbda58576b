package calendar

import (
	"context"
	"log/slog"
	"time"

	"github.com/countycloud/countycloud/core/workday"
)

// JobCheckNational is the daily job that warns, in the log, while the
// national data of this year or the next is provisional or missing. The
// server also warns at start.
const (
	JobCheckNational   = "calendar.check_national"
	CheckNationalEvery = 24 * time.Hour
)

// YearOutlook is how far the national data of a year can be trusted.
type YearOutlook struct {
	Year   int
	Status workday.Status
	Source string
}

// Outlook is the status of the national data for the year of now in China
// and the next one, into which deadlines counted from October on reach.
func (s *Service) Outlook(now time.Time) []YearOutlook {
	this := workday.DateOf(now).Year
	outlook := []YearOutlook{{Year: this, Status: workday.Missing}, {Year: this + 1, Status: workday.Missing}}
	for i := range outlook {
		for _, y := range s.national {
			if y.Year == outlook[i].Year {
				outlook[i].Status, outlook[i].Source = y.Status, y.Source
			}
		}
	}
	return outlook
}

// WarnOutlook logs the Outlook at now: a warning for each year whose data
// is provisional or missing, saying what that does to deadlines, and an
// information line for one that is official.
func (s *Service) WarnOutlook(ctx context.Context, log *slog.Logger, now time.Time) {
	for _, y := range s.Outlook(now) {
		switch y.Status {
		case workday.Official:
			log.InfoContext(ctx, "national calendar data is official", "year", y.Year, "status", y.Status, "source", y.Source)
		case workday.Provisional:
			log.WarnContext(ctx, "national calendar data is provisional: deadlines counted over the year may move once the State Council's notice is out; check the data against it and upgrade countycloud",
				"year", y.Year, "status", y.Status, "source", y.Source)
		default:
			log.WarnContext(ctx, "national calendar data is missing: deadlines counted over the year take Monday to Friday as working days and miss its public holidays; upgrade countycloud once the State Council's notice is out (usually October to December of the year before)",
				"year", y.Year, "status", y.Status)
		}
	}
}
