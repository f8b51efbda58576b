package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progressBar draws one line of progress on a terminal and nothing
// elsewhere, so that logs and pipes stay clean.
type progressBar struct {
	w     io.Writer
	label string
	start time.Time
}

// newProgressBar returns a bar on w if w is a terminal, else nil; a nil
// bar's methods do nothing.
func newProgressBar(w io.Writer, label string) *progressBar {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if info, err := f.Stat(); err != nil || info.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return &progressBar{w: w, label: label, start: time.Now()}
}

func (b *progressBar) update(done, total, failed int) {
	if b == nil || total == 0 {
		return
	}
	const width = 30
	filled := width * done / total
	eta := ""
	if done > 0 && done < total {
		left := time.Duration(float64(time.Since(b.start)) / float64(done) * float64(total-done))
		eta = "  eta " + left.Round(time.Second).String()
	}
	fmt.Fprintf(b.w, "\r%s [%s%s] %d/%d  %d failed%s\033[K", b.label,
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, failed, eta)
}

func (b *progressBar) finish() {
	if b != nil {
		fmt.Fprintln(b.w)
	}
}
