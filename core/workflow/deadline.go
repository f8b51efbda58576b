package workflow

import (
	"time"

	"github.com/countycloud/countycloud/core/workday"
)

// Deadline is when l, counted from start, runs out in cal: a limit in
// working days at the close of the last of them (a request on Friday
// evening is received on Monday), one in working hours after that much
// working time. Its status says how far cal's data for the years counted
// over can be trusted, for the deadline to be shown with a warning where
// it rests on provisional data or on none.
func (l Limit) Deadline(cal *workday.Calendar, start time.Time) (time.Time, workday.Status) {
	due, status := start, cal.StatusBetween(start, start)
	if l.Days > 0 {
		due, status = cal.AddWorkingDaysStatus(start, l.Days)
	}
	if l.Hours > 0 {
		var hours workday.Status
		due, hours = cal.AddWorkingDurationStatus(due, time.Duration(l.Hours)*time.Hour)
		status = workday.Least(status, hours)
	}
	return due, status
}

// Electronic supervision warns (yellow) once a share of a task's working
// time is used; a county sets the share in its settings under
// SettingWarnShare, between MinWarnShare and MaxWarnShare.
const (
	SettingWarnShare = "supervision.warn_share"
	DefaultWarnShare = 0.8
	MinWarnShare     = 0.1
	MaxWarnShare     = 0.99
)

// WarnAt is when share of the working time from start to due is used.
func WarnAt(cal *workday.Calendar, start, due time.Time, share float64) time.Time {
	used := time.Duration(float64(cal.WorkingDuration(start, due)) * share)
	return cal.AddWorkingDuration(start, used.Truncate(time.Minute))
}
