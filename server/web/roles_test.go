package web_test

import (
	"strings"
	"testing"

	"certseal"
	"certseal/cmd/app/testenv"
	"certseal/server"
	"certseal/server/web"
)

// pagesWithoutAPI is the short list of pages that name no API route: the public pages and the
// pages any signed-in user may use.
var pagesWithoutAPI = map[string]bool{
	"web.static": true, "web.login": true, "web.login_post": true,
	"web.verify": true, "web.verify_post": true, "web.verify_qr": true, "web.verify_qr_typed": true,
	"web.home": true, "web.logout": true, "web.account": true, "web.account_post": true,
}

// expectedPages is who may use each signed-in page, as the people who use certseal expect it
// (letters as in expected). The pages do not keep this table: they derive it from the API's.
var expectedPages = map[string]string{
	"web.home": "ADBCUE", "web.logout": "ADBCUE", "web.account": "ADBCUE", "web.account_post": "ADBCUE",
	"web.issue": "BC", "web.issue_post": "BC", "web.issue_preview": "BC",
	"web.batch": "BC", "web.batch_post": "BC", "web.batch_view": "BC", "web.batch_status": "BC", "web.batch_zip": "BC",
	"web.certs": "ADBCU", "web.cert": "ADBCU", "web.cert_post": "ABC", "web.cert_pdf": "ADBCU", "web.cert_ofd": "ADBCU", "web.cert_print": "ADBCU",
	"web.stock": "ADBCU", "web.stock_post": "BD", "web.receipts": "ADBCU", "web.void": "BC", "web.void_post": "BC",
	"web.stocktake": "ADBCU", "web.stocktake_post": "ABD", "web.demand": "B", "web.demand_post": "B",
	"web.receive": "D", "web.receive_post": "D", "web.distribute": "D", "web.distribute_post": "D",
	"web.summary": "ADU", "web.exports": "ADBCU", "web.export": "ADBCU",
	"web.orgs": "AU", "web.orgs_post": "A", "web.users": "AU", "web.users_post": "A",
	"web.items": "AU", "web.items_post": "A", "web.types": "AU", "web.types_post": "A",
	"web.templates": "AU", "web.template_preview": "A", "web.seals": "AU", "web.seals_post": "A",
	"web.rounds": "AU", "web.rounds_post": "A", "web.audit": "AU",
}

var roleOf = map[byte]certseal.Role{'A': certseal.RoleAdmin, 'D': certseal.RoleDeptOfficer,
	'B': certseal.RoleBureauOfficer, 'C': certseal.RoleClerk, 'U': certseal.RoleAuditor, 'E': certseal.RoleUserDept}

// table is a role table with some routes' roles replaced.
type table struct {
	base server.RouteTable
	set  map[string][]certseal.Role
}

func (t table) Route(name string) (server.Route, bool) {
	rt, ok := t.base.Route(name)
	if roles, changed := t.set[name]; ok && changed {
		rt.Roles, rt.Public = roles, false
	}
	return rt, ok
}

// TestPageRolesFromAPI checks that every page names an existing API route (or is in the short
// list of pages without one), that no page is open to a role its API route refuses, that the
// derived access is the expected one, and that changing an API route's roles changes the
// pages like it.
func TestPageRolesFromAPI(t *testing.T) {
	e := testenv.Start(t)
	api := e.App.Server
	pages := e.App.Web.Routes()
	for _, rt := range pages {
		if rt.Like == "" {
			if !pagesWithoutAPI[rt.Name] {
				t.Errorf("page %s names no API route and is not in the list of pages without one", rt.Name)
			}
			continue
		}
		if pagesWithoutAPI[rt.Name] {
			t.Errorf("page %s is listed as without an API route but is like %s", rt.Name, rt.Like)
		}
		like, ok := api.Route(rt.Like)
		if !ok || strings.HasPrefix(like.Name, "web.") || like.Public {
			t.Errorf("page %s is like %q, which is not a signed-in API route", rt.Name, rt.Like)
			continue
		}
		for _, role := range server.AllRoles {
			if e.App.Web.Allows(rt, role) && !like.Allows(role) {
				t.Errorf("page %s is open to %s, which its API route %s refuses", rt.Name, role, rt.Like)
			}
		}
	}
	for _, rt := range pages {
		want, ok := expectedPages[rt.Name]
		if !ok {
			if rt.Like != "" {
				t.Errorf("page %s is not in expectedPages", rt.Name)
			}
			continue
		}
		for _, letter := range []byte("ADBCUE") {
			if got := e.App.Web.Allows(rt, roleOf[letter]); got != (strings.IndexByte(want, letter) >= 0) {
				t.Errorf("page %s for %c: allowed %v, want %q", rt.Name, letter, got, want)
			}
		}
	}

	// A role change in the API table is a role change of the pages like it.
	changed := table{base: api, set: map[string][]certseal.Role{
		"certs.issue":     {certseal.RoleAdmin},
		"inventory.voids": {certseal.RoleClerk},
	}}
	w := &web.Web{API: changed}
	for _, rt := range w.Routes() {
		var want string
		switch rt.Like {
		case "certs.issue":
			want = "A"
		case "inventory.voids":
			want = "C" // the county desk still narrows it
		default:
			continue
		}
		for _, letter := range []byte("ADBCU") {
			if got := w.Allows(rt, roleOf[letter]); got != (strings.IndexByte(want, letter) >= 0) {
				t.Errorf("after the change, page %s for %c: allowed %v, want %q", rt.Name, letter, got, want)
			}
		}
	}
	// Without the table, no page that names an API route is open.
	for _, rt := range (&web.Web{}).Routes() {
		if rt.Like != "" && (&web.Web{}).Allows(rt, certseal.RoleAdmin) {
			t.Errorf("page %s is open without the role table", rt.Name)
		}
	}
}
