// Package convenience is the built-in module convenience: convenience
// services and public supervision (便民服务, 公众监督). A citizen leaves a
// message on the county's public pages (咨询, 投诉, 求助, 建议) and gets a
// receipt; the county's rule for its category routes it to the unit
// responsible as it is left, or else the county's IT office does; the
// unit's clerks reply in writing within five working days under the
// platform's electronic supervision; the IT office accepts the reply or
// returns it for rework; replies the citizen allowed to be published are
// listed on the public pages with personal data masked; the citizen rates
// the reply once, and an unsatisfied rating reopens it for the oversight
// view of the IT office and the supervising unit. The letters-and-visits
// bureau (信访局) sees every message.
//
// It is written against plugins/sdk alone, as a vendor's module would be;
// docs/convenience.md is its API.
package convenience
