package web_test

func init() {
	for k, v := range map[string]string{
		"web.exchange": "AU", "web.exchange_import": "A", "web.exchange_claim": "A", "web.exchange_json": "AU", "web.exchange_xml": "AU",
	} {
		expectedPages[k] = v
	}
}
