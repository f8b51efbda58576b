// Package workday computes deadlines in Chinese working days and working
// hours: "answer a citizen's message within 5 working days", "approve
// within 20 working days", "each step within 8 working hours", and how much
// of such a limit has been used.
//
// A working day in China is not simply Monday to Friday. Each year the
// State Council General Office publishes the dates of the public holidays
// (国务院办公厅关于某年部分节假日安排的通知), and bridges a holiday to
// the nearest weekend by giving weekdays off in exchange for Saturdays or
// Sundays worked (调休): in 2026, Saturday 14 February is a working day
// and the Spring Festival runs from Sunday 15 to Monday 23 February. The
// package embeds one file per year (data/cn-YYYY.json) with those dates,
// and a county may add its own days off or working days on top (Override).
// Years without a file fall back to Monday to Friday; Calendar.Status says
// when that, or data worked out before the notice came out, is in play.
//
// Every date is a date in China Standard Time, UTC+8. China has one zone
// and no daylight saving, so a fixed offset is exact and spares the
// binaries a tzdata dependency; an instant given in any zone is first
// placed on China's calendar.
//
// The counting rules follow the usual administrative ones (期间开始之日不
// 计算在期间内): a request made on a day off or after the close of business
// is taken as received on the next working day, the day of receipt does
// not count, and a deadline falls at the close of business of its last
// working day. Limits in working hours count only the working periods of
// working days (08:30–12:00 and 14:00–17:30 unless a county keeps other
// hours). See Calendar.AddWorkingDays and Calendar.AddWorkingDuration.
package workday
