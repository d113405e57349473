package server_test

func init() {
	expect(map[string]string{
		"exchange.changes": "AU", "exchange.export_json": "AU", "exchange.export_xml": "AU", "exchange.codes": "AU",
		"catalogue.import": "A", "catalogue.claim": "A",
	})
}
