// Package oa is the official documents module (公文): documents drafted,
// checked, signed, numbered, sealed and distributed by one unit through
// the sending flow (发文), and received, instructed, handled and
// archived by every recipient unit through the receiving flow (收文),
// with each unit's templates (红头), electronic seals and the figures the
// rollout is judged by.
//
// It is written against plugins/sdk alone, as a vendor's module would be,
// and runs as a plugin process even when it is built into the platform's
// binary: nothing here may reach the platform except through the host's
// services, which are scoped to the county of each request.
//
// Each part of the module declares its routes in its own file and adds
// them to routes (router.go); docs/oa.md documents every route, body and
// error code.
package oa
