package server_test

import "certseal/server/web"

// webRoutes are the web pages (package server/web) in the role table: public from the table's
// point of view, since every page checks the session cookie itself and takes its roles from
// the API route it names (TestPageRolesFromAPI in server/web).
var webRoutes = map[string]string{}

func init() {
	for _, rt := range (&web.Web{}).Routes() {
		webRoutes[rt.Name] = "*"
	}
	expect(webRoutes)
}
