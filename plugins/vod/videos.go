package vod

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Statuses of a video: uploading until the host has all of its file's
// bytes, then ready to play.
const (
	statusUploading = "uploading"
	statusReady     = "ready"
)

// Limits of a video's fields.
const (
	maxTitleRunes    = 200
	maxFileNameRunes = 255
	// maxDurationSeconds is two days: longer than any recorded meeting,
	// short enough to catch milliseconds sent as seconds.
	maxDurationSeconds = 48 * 3600
	defaultPageSize    = 50
	maxPageSize        = 200
)

// videoDoc is a video as the videos collection keeps it. Its id, version
// and times are the record's own.
type videoDoc struct {
	Title           string `json:"title"`
	Category        string `json:"category"`
	UnitID          int64  `json:"unit_id"`
	DurationSeconds int64  `json:"duration_seconds"`
	FileID          string `json:"file_id"`
	FileName        string `json:"file_name"`
	ContentType     string `json:"content_type"`
	SizeBytes       int64  `json:"size_bytes"`
	Status          string `json:"status"`
	CreatedBy       int64  `json:"created_by"`
	CreatedByLogin  string `json:"created_by_login"`
}

// video is a video as the API shows it.
type video struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
	videoDoc
	CategoryName string    `json:"category_name"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func videoOf(r sdk.Record) (video, error) {
	var doc videoDoc
	if err := json.Unmarshal(r.Document, &doc); err != nil {
		return video{}, fmt.Errorf("decode video %s: %w", r.ID, err)
	}
	return video{ID: r.ID, Version: r.Version, videoDoc: doc, CategoryName: categoryName(doc.Category), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}, nil
}

// createInput is the body of POST /videos. UnitID 0 means the caller's
// own unit.
type createInput struct {
	Title           string    `json:"title"`
	Category        string    `json:"category"`
	UnitID          int64     `json:"unit_id"`
	DurationSeconds int64     `json:"duration_seconds"`
	File            fileInput `json:"file"`
}

// fileInput describes the file the client is about to upload.
type fileInput struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// updateInput is the body of PATCH /videos/{id}: the version read, and
// the fields to change. A video's file cannot change: a new recording is
// a new video.
type updateInput struct {
	Version         int64   `json:"version"`
	Title           *string `json:"title"`
	Category        *string `json:"category"`
	UnitID          *int64  `json:"unit_id"`
	DurationSeconds *int64  `json:"duration_seconds"`
}

// checkCreate validates a new video against the county's settings and
// returns its document, without the file the host has yet to create,
// its status and its creator.
func checkCreate(in createInput, s settings) (videoDoc, error) {
	var problems []string
	doc := videoDoc{UnitID: in.UnitID, DurationSeconds: in.DurationSeconds, SizeBytes: in.File.Size}
	var err error
	if doc.Title, err = cleanText("title", in.Title, maxTitleRunes); err != nil {
		problems = append(problems, err.Error())
	}
	if err := checkCategory(in.Category, s); err != nil {
		problems = append(problems, err.Error())
	}
	doc.Category = in.Category
	if in.UnitID <= 0 {
		problems = append(problems, fmt.Sprintf("unit_id %d is not a unit", in.UnitID))
	}
	if err := checkDuration(in.DurationSeconds); err != nil {
		problems = append(problems, err.Error())
	}
	if doc.FileName, err = cleanText("file.name", in.File.Name, maxFileNameRunes); err != nil {
		problems = append(problems, err.Error())
	} else if strings.ContainsAny(doc.FileName, `/\`) {
		problems = append(problems, "file.name is a name, not a path: it may not hold / or \\")
	}
	if doc.ContentType, err = videoContentType(in.File.ContentType); err != nil {
		problems = append(problems, err.Error())
	}
	if in.File.Size <= 0 || in.File.Size > s.MaxVideoBytes {
		problems = append(problems, fmt.Sprintf("file.size %d is not between 1 and the county's limit of %d bytes", in.File.Size, s.MaxVideoBytes))
	}
	if len(problems) > 0 {
		return videoDoc{}, badRequest(codeInvalidVideo, "%s", strings.Join(problems, "; "))
	}
	return doc, nil
}

// applyUpdate returns doc changed as in asks, validated against the
// county's settings.
func applyUpdate(doc videoDoc, in updateInput, s settings) (videoDoc, error) {
	var problems []string
	if in.Version <= 0 {
		problems = append(problems, "version is required: the version of the video as it was read")
	}
	if in.Title == nil && in.Category == nil && in.UnitID == nil && in.DurationSeconds == nil {
		problems = append(problems, "nothing to change: give title, category, unit_id or duration_seconds")
	}
	if in.Title != nil {
		title, err := cleanText("title", *in.Title, maxTitleRunes)
		if err != nil {
			problems = append(problems, err.Error())
		}
		doc.Title = title
	}
	if in.Category != nil {
		if err := checkCategory(*in.Category, s); err != nil {
			problems = append(problems, err.Error())
		}
		doc.Category = *in.Category
	}
	if in.UnitID != nil {
		if *in.UnitID <= 0 {
			problems = append(problems, fmt.Sprintf("unit_id %d is not a unit", *in.UnitID))
		}
		doc.UnitID = *in.UnitID
	}
	if in.DurationSeconds != nil {
		if err := checkDuration(*in.DurationSeconds); err != nil {
			problems = append(problems, err.Error())
		}
		doc.DurationSeconds = *in.DurationSeconds
	}
	if len(problems) > 0 {
		return videoDoc{}, badRequest(codeInvalidVideo, "%s", strings.Join(problems, "; "))
	}
	return doc, nil
}

// cleanText trims s and checks that it is 1 to max characters of text.
func cleanText(field, s string, limit int) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case !utf8.ValidString(s):
		return "", fmt.Errorf("%s is not UTF-8 text", field)
	case s == "":
		return "", fmt.Errorf("%s is empty", field)
	case utf8.RuneCountInString(s) > limit:
		return "", fmt.Errorf("%s is over %d characters", field, limit)
	case strings.ContainsFunc(s, unicode.IsControl):
		return "", fmt.Errorf("%s holds control characters", field)
	}
	return s, nil
}

func checkCategory(code string, s settings) error {
	if !slices.Contains(s.Categories, code) {
		return fmt.Errorf("category %q is not one of this county's: %s", code, strings.Join(s.Categories, ", "))
	}
	return nil
}

func checkDuration(seconds int64) error {
	if seconds < 0 || seconds > maxDurationSeconds {
		return fmt.Errorf("duration_seconds %d is not between 0 (not known yet) and %d", seconds, maxDurationSeconds)
	}
	return nil
}

// videoContentType returns ct in canonical form if it is a video's media
// type: the host would take any, and a player needs a video.
func videoContentType(ct string) (string, error) {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !strings.HasPrefix(mt, "video/") || len(mt) == len("video/") || strings.Count(mt, "/") != 1 {
		return "", fmt.Errorf("file.content_type %q is not a video's media type such as video/mp4", ct)
	}
	out := mime.FormatMediaType(mt, params)
	if out == "" {
		return "", fmt.Errorf("file.content_type %q is not a video's media type such as video/mp4", ct)
	}
	return out, nil
}

// listQuery is the query of GET /videos.
type listQuery struct {
	category string
	unit     int64
	status   string
	limit    int
	after    string
}

// parseListQuery reads GET /videos' query: category, unit_id, status
// (ready, the default, or uploading), limit (1 to 200, 50 by default) and
// after (the previous page's next).
func parseListQuery(raw string) (listQuery, error) {
	q, err := parseQuery(raw, "category", "unit_id", "status", "limit", "after")
	if err != nil {
		return listQuery{}, err
	}
	out := listQuery{status: statusReady, limit: defaultPageSize}
	if v, ok := q["category"]; ok {
		// Any category the module knows: a county that stops using
		// one still lists the videos it has.
		if categoryName(v) == "" {
			return listQuery{}, badRequest(codeInvalidQuery, "category %q is not meetings, training, policy or other", v)
		}
		out.category = v
	}
	if v, ok := q["unit_id"]; ok {
		if out.unit, err = positiveID("unit_id", v); err != nil {
			return listQuery{}, err
		}
	}
	if v, ok := q["status"]; ok {
		if v != statusReady && v != statusUploading {
			return listQuery{}, badRequest(codeInvalidQuery, "status %q is not ready or uploading", v)
		}
		out.status = v
	}
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return listQuery{}, badRequest(codeInvalidQuery, "limit %q is not a number from 1 to %d", v, maxPageSize)
		}
		out.limit = n
	}
	if v, ok := q["after"]; ok {
		if !sdk.ValidNewestFirstID(v) {
			return listQuery{}, badRequest(codeInvalidQuery, "after %q is not the next of a previous page", v)
		}
		out.after = v
	}
	return out, nil
}

// where is the query's filter on the videos' indexed fields.
func (q listQuery) where() map[string]string {
	w := map[string]string{"status": q.status}
	if q.category != "" {
		w["category"] = q.category
	}
	if q.unit != 0 {
		w["unit_id"] = strconv.FormatInt(q.unit, 10)
	}
	return w
}

// playbackTTL is how long a playback URL serves. The player asks for
// byte ranges as it goes, pauses and seeks, so the URL outlives twice
// the video's length and half an hour; an hour at least (the length may
// be unknown) and the host's 24 hours at most.
func playbackTTL(durationSeconds int64) time.Duration {
	ttl := 2*time.Duration(durationSeconds)*time.Second + 30*time.Minute
	return min(max(ttl, time.Hour), 24*time.Hour)
}

func (c *call) listCategories() (int, any, error) {
	if !c.who.canRead() {
		return 0, nil, forbidden("only the county's accounts read its videos")
	}
	out := []category{}
	for _, cat := range categories() {
		if slices.Contains(c.settings.Categories, cat.Code) {
			out = append(out, cat)
		}
	}
	return http.StatusOK, map[string]any{"categories": out}, nil
}

func (c *call) listVideos() (int, any, error) {
	if !c.who.canRead() {
		return 0, nil, forbidden("only the county's accounts read its videos")
	}
	q, err := parseListQuery(c.req.Query)
	if err != nil {
		return 0, nil, err
	}
	// Unfinished uploads are their managers' business.
	if q.status == statusUploading && !c.who.operator {
		switch {
		case c.who.county:
		case c.who.unitOnly && (q.unit == 0 || q.unit == c.who.unit):
			q.unit = c.who.unit
		default:
			return 0, nil, forbidden("only those who manage a unit's videos list its unfinished uploads")
		}
	}
	page, err := c.host.Query(c.ctx, collVideos, sdk.Query{Where: q.where(), Limit: q.limit, After: q.after})
	if err != nil {
		return 0, nil, fromHost(err, "the list of videos")
	}
	out := struct {
		Videos []video `json:"videos"`
		Next   string  `json:"next,omitempty"`
	}{Videos: make([]video, 0, len(page.Records)), Next: page.Next}
	for _, r := range page.Records {
		v, err := videoOf(r)
		if err != nil {
			return 0, nil, err
		}
		out.Videos = append(out.Videos, v)
	}
	return http.StatusOK, out, nil
}

// readVideo reads video id as the caller may see it: an unfinished
// upload only its managers and the operators see.
func (c *call) readVideo(id string) (video, error) {
	if !c.who.canRead() {
		return video{}, forbidden("only the county's accounts read its videos")
	}
	r, err := c.host.Get(c.ctx, collVideos, id)
	if errors.Is(err, sdk.ErrNotFound) {
		return video{}, videoNotFound(id)
	}
	if err != nil {
		return video{}, fromHost(err, "video "+id)
	}
	v, err := videoOf(r)
	if err != nil {
		return video{}, err
	}
	if v.Status != statusReady && !c.who.operator && !c.who.canManage(v.UnitID) {
		return video{}, videoNotFound(id)
	}
	return v, nil
}

func (c *call) getVideo(id string) (int, any, error) {
	v, err := c.readVideo(id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}

func (c *call) createVideo() (int, any, error) {
	if !c.who.canManageSome() {
		return 0, nil, forbidden("only system_admin, vod_admin or a unit's unit_admin add videos")
	}
	var in createInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	if in.UnitID == 0 {
		in.UnitID = c.who.unit
	}
	doc, err := checkCreate(in, c.settings)
	if err != nil {
		return 0, nil, err
	}
	if !c.who.canManage(doc.UnitID) {
		return 0, nil, forbidden("a unit_admin adds videos to its own unit (%d) only", c.who.unit)
	}
	up, err := c.host.CreateUpload(c.ctx, doc.FileName, doc.ContentType, doc.SizeBytes)
	if err != nil {
		return 0, nil, fromHost(err, "the upload")
	}
	doc.FileID, doc.Status = up.FileID, statusUploading
	doc.CreatedBy, doc.CreatedByLogin = c.who.account, c.who.login
	id := sdk.NewestFirstID(c.now)
	r, err := c.host.Put(c.ctx, collVideos, id, 0, doc)
	if err != nil {
		c.discardFile(up.FileID)
		return 0, nil, fromHost(err, "video "+id)
	}
	v, err := videoOf(r)
	if err != nil {
		return 0, nil, err
	}
	c.audit("video.create", id, nil, v)
	return http.StatusCreated, struct {
		Video  video  `json:"video"`
		Upload upload `json:"upload"`
	}{Video: v, Upload: upload{Method: http.MethodPut, URL: up.URL, ExpiresAt: up.ExpiresAt}}, nil
}

// upload tells the client where to send the video's bytes, which go to
// the host's file store and never through the module.
type upload struct {
	Method    string    `json:"method"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (c *call) updateVideo(id string) (int, any, error) {
	var in updateInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	before, err := c.readVideo(id)
	if err != nil {
		return 0, nil, err
	}
	if !c.who.canManage(before.UnitID) {
		return 0, nil, forbidden("only system_admin, vod_admin or unit %d's unit_admin change this video", before.UnitID)
	}
	doc, err := applyUpdate(before.videoDoc, in, c.settings)
	if err != nil {
		return 0, nil, err
	}
	if !c.who.canManage(doc.UnitID) {
		return 0, nil, forbidden("a unit_admin cannot give a video to another unit (%d)", doc.UnitID)
	}
	r, err := c.host.Put(c.ctx, collVideos, id, in.Version, doc)
	if errors.Is(err, sdk.ErrNotFound) {
		return 0, nil, videoNotFound(id)
	}
	if err != nil {
		return 0, nil, fromHost(err, "video "+id)
	}
	after, err := videoOf(r)
	if err != nil {
		return 0, nil, err
	}
	c.audit("video.update", id, before, after)
	return http.StatusOK, after, nil
}

func (c *call) deleteVideo(id string) (int, any, error) {
	q, err := parseQuery(c.req.Query, "version")
	if err != nil {
		return 0, nil, err
	}
	version, err := positiveID("version", q["version"])
	if err != nil {
		return 0, nil, err
	}
	v, err := c.readVideo(id)
	if err != nil {
		return 0, nil, err
	}
	if !c.who.canManage(v.UnitID) {
		return 0, nil, forbidden("only system_admin, vod_admin or unit %d's unit_admin delete this video", v.UnitID)
	}
	err = c.host.Delete(c.ctx, collVideos, id, version)
	if errors.Is(err, sdk.ErrNotFound) {
		return 0, nil, videoNotFound(id)
	}
	if err != nil {
		return 0, nil, fromHost(err, "video "+id)
	}
	// The record goes first: a file without its video is only space,
	// which the log tells of, while a video without its file would be
	// listed and never play. Its views stay, for the usage reports.
	c.discardFile(v.FileID)
	c.audit("video.delete", id, v, nil)
	return http.StatusNoContent, nil, nil
}

// maxCompleteAttempts bounds the re-reads of a video that changed while
// its upload was being completed (an edit, or the same completion from
// a second tab).
const maxCompleteAttempts = 3

func (c *call) completeUpload(id string) (int, any, error) {
	for range maxCompleteAttempts {
		v, err := c.readVideo(id)
		if err != nil {
			return 0, nil, err
		}
		if !c.who.canManage(v.UnitID) {
			return 0, nil, forbidden("only system_admin, vod_admin or unit %d's unit_admin complete this video's upload", v.UnitID)
		}
		if v.Status == statusReady {
			return http.StatusOK, v, nil
		}
		f, err := c.host.File(c.ctx, v.FileID)
		if err != nil {
			return 0, nil, fromHost(err, "the file of video "+id)
		}
		if f.Status != sdk.FileReady {
			return 0, nil, newError(http.StatusConflict, codeUploadIncomplete, "the file of video %s has not all arrived; PUT its bytes to the upload URL, then complete it again", id)
		}
		doc := v.videoDoc
		doc.Status = statusReady
		r, err := c.host.Put(c.ctx, collVideos, id, v.Version, doc)
		if errors.Is(err, sdk.ErrConflict) {
			continue
		}
		if err != nil {
			return 0, nil, fromHost(err, "video "+id)
		}
		after, err := videoOf(r)
		if err != nil {
			return 0, nil, err
		}
		c.audit("video.ready", id, v, after)
		return http.StatusOK, after, nil
	}
	return 0, nil, newError(http.StatusConflict, codeBusy, "video %s kept changing while its upload was completed; try again", id)
}

func (c *call) playback(id string) (int, any, error) {
	v, err := c.readVideo(id)
	if err != nil {
		return 0, nil, err
	}
	if v.Status != statusReady {
		return 0, nil, newError(http.StatusConflict, codeVideoNotReady, "video %s is still uploading; it plays once its upload is completed", id)
	}
	u, err := c.host.DownloadURL(c.ctx, v.FileID, playbackTTL(v.DurationSeconds))
	if err != nil {
		return 0, nil, fromHost(err, "the playback URL of video "+id)
	}
	return http.StatusOK, struct {
		VideoID     string    `json:"video_id"`
		URL         string    `json:"url"`
		ContentType string    `json:"content_type"`
		ExpiresAt   time.Time `json:"expires_at"`
	}{VideoID: id, URL: u.URL, ContentType: v.ContentType, ExpiresAt: u.ExpiresAt}, nil
}

// discardFile deletes a file no video holds any longer. Its failure
// leaves only unused bytes in the county's store, which the host's log
// tells of: the caller's request has done what it asked.
func (c *call) discardFile(id string) {
	if err := c.host.DeleteFile(c.ctx, id); err != nil && !errors.Is(err, sdk.ErrNotFound) {
		c.log.Warn("a video's file is left in the county's store", "file", id, "request", c.req.RequestID, "err", err)
	}
}
