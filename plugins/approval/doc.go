// Package approval is the online administrative approval module (网上行政
// 审批): the county's catalogue of approval items (事项目录), each with its
// handling departments, legal basis, conditions, required materials,
// procedure and time limits, kept by the county's admins through the API
// and as XLSX workbooks; and the applications citizens and enterprises
// make for them.
//
// It is written against plugins/sdk alone, as a vendor's module would be,
// and runs as a plugin process even when it is built into the platform's
// binary: nothing here may reach the platform except through the host's
// services, which are scoped to the county of each request.
//
// Each part of the module declares its routes in its own file and adds
// them to routes (router.go): the catalogue in items.go and catalogue*.go,
// the applications in applications.go.
// docs/approval.md documents every route, body and error code.
package approval
