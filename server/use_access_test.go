package server_test

func init() {
	expect(map[string]string{
		"consents.create": "*", "consents.log": "*",
		"uses.create": "E", "uses.list": "AUE", "uses.get": "AUE", "uses.copy": "AUE",
		"certs.uses":     "ADBCU",
		"use_auths.list": "AUE", "use_auths.create": "A", "use_auths.update": "A", "use_auths.revoke": "A",
	})
}
