// Package vod is the video-on-demand module (视频点播): a county's
// catalogue of meeting, training and policy videos, played from the
// host's file store through signed expiring URLs, with view counts per
// unit and per account that later feed the usage reports.
//
// It is written against plugins/sdk alone, as a vendor's module would be,
// and runs as a plugin process even when it is built into the platform's
// binary: nothing here may reach the platform except through the host's
// services, which are scoped to the county of each request.
//
// # API
//
// Under /v1/tenants/{code}/modules/vod, in JSON; a refusal is
// {"error":{"code":…,"message":…}} with 400 (bad input), 403 (the
// caller's roles do not allow it), 404, 405 or 409 (a version conflict,
// a video not ready, an upload not complete).
//
//	GET    /categories                 the categories a video may take
//	GET    /videos                     ?category=&unit_id=&status=ready|uploading&limit=&after=
//	                                   newest first; {"videos":[…],"next":"…"}
//	POST   /videos                     {"title","category","unit_id","duration_seconds",
//	                                    "file":{"name","content_type","size"}}
//	                                   201 {"video":{…},"upload":{"method":"PUT","url","expires_at"}}
//	GET    /videos/{id}                the video, with its version
//	PATCH  /videos/{id}                {"version", and any of "title","category","unit_id","duration_seconds"}
//	DELETE /videos/{id}?version=       204; its file goes too, its views stay
//	POST   /videos/{id}/complete       once the file's bytes are PUT: the video is ready
//	GET    /videos/{id}/playback       {"url","content_type","expires_at"}, a signed URL to the file
//	POST   /videos/{id}/views          counts a play by the caller; {"day","plays"}; each play is
//	                                   also the measure vod.videos.played of the caller's unit
//	GET    /reports/views              ?month=2006-01&video_id=&unit_id=; plays and viewers
//	                                   per unit, per account and per video
//
// Who may do what is in access.go: every account of the county watches;
// system_admin and the module's own role vod_admin manage the whole
// catalogue; unit_admin manages its unit's videos; operators read and
// play but change nothing and are not counted.
package vod
