// Package disclosure is the government information disclosure module
// (政务公开) and information reporting (信息报送): each unit's basic
// information (职能, 机构设置, 领导分工, 联系方式, 办事程序, 监督投诉) as a
// form its staff fill and its admin publishes, its normative documents
// (规范性文件) and procurement notices (采购公告) with their validity, all
// on the county's public pages; the disclosure index (公开指数) of each
// unit and of the county; and the work information units report, which
// the county office grades for the leaders' reference (领导参阅), the
// internal bulletin (内部简报) or the public portal (门户网站).
//
// It is written against plugins/sdk alone, as a vendor's module would be,
// and runs as a plugin process even when built into the platform's
// binary: nothing here reaches the platform except through the host's
// services, scoped to the county of each request.
//
// docs/disclosure.md documents every route, body and error code.
package disclosure
