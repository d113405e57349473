package web_test

func init() {
	pagesWithoutAPI["web.use_consent"] = true
	pagesWithoutAPI["web.use_holder_log"] = true
	for name, roles := range map[string]string{
		"web.use": "E", "web.use_post": "E", "web.use_records": "AUE", "web.use_copy": "AUE", "web.cert_uses": "ADBCU",
	} {
		expectedPages[name] = roles
	}
}
