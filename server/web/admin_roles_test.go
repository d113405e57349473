package web_test

// The pages of the administration (issue #21) in the expected page table (roles_test.go).
func init() {
	for k, v := range map[string]string{
		"web.cert_change": "BC", "web.cert_change_post": "BC",
		"web.org_edit": "A", "web.org_update": "A", "web.tokens": "A", "web.tokens_post": "A",
		"web.seal_scan": "A", "web.seal_uses": "AU",
	} {
		if _, dup := expectedPages[k]; dup {
			panic("page " + k + " expected twice")
		}
		expectedPages[k] = v
	}
}
