package app

import (
	"context"
	"fmt"

	"certseal"
	"certseal/internal/demo"
	"certseal/internal/orgs"
	"certseal/internal/store"
)

// demoPasswords gives every demo user a freshly generated password, only when serving with
// -demo: hashing two dozen passwords with argon2id would slow down every test that loads the
// demo (tests set the passwords they need through orgs).
func (a *App) demoPasswords(res demo.Result) error {
	if !a.Config.Demo {
		return nil
	}
	ctx := context.Background()
	pw := map[string]string{}
	for i, l := range res.Logins {
		var u certseal.User
		err := a.DB.View(func(tx *store.Tx) error {
			var err error
			u, err = orgs.UserByName(tx, l.Username)
			return err
		})
		if err != nil {
			return fmt.Errorf("demo password for %s: %w", l.Username, err)
		}
		p, err := orgs.GeneratePassword()
		if err != nil {
			return err
		}
		if err := a.Orgs.SetPassword(ctx, certseal.System, u.ID, p); err != nil {
			return fmt.Errorf("demo password for %s: %w", l.Username, err)
		}
		pw[l.Username] = p
		res.Logins[i].Password = p
	}
	a.DemoPasswords = pw
	return nil
}
