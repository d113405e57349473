package server_test

func init() {
	expect(map[string]string{
		"seals.list": "ADBCU", "seals.create": "A", "seals.validate": "ADBCU", "seals.get": "ADBCU",
		"seals.suspend": "A", "seals.reinstate": "A", "seals.revoke": "A",
		"seals.image_svg": "*", "seals.image_png": "*",
		"seals.scan_put": "A", "seals.scan_delete": "A", "seals.uses": "ABU",
		"ca.certificate": "*", "ca.crl": "*",
	})
}
