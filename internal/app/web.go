package app

import (
	"context"
	"fmt"
	"sync"

	"certseal"
	"certseal/internal/demo"
	"certseal/internal/orgs"
	"certseal/internal/store"
	"certseal/server"
)

// demoPasswordParts holds the passwords generated for the demo users, per App, by username.
var demoPasswordParts sync.Map // *App -> map[string]string

// openWeb wires the web pages (issue #8) over the services the other parts built; Open calls
// it after them.
func (a *App) openWeb() error {
	a.Server.Extra = append(a.Server.Extra, server.NewWeb(server.Web{
		Orgs: a.Orgs, Catalogue: a.Catalogue, Inventory: a.Inventory(), Certs: a.Certs(), Batches: a.Batches(), Seals: a.Seals(),
		Templates: a.Templates(), Renderer: a.Renderer(), Demand: a.Demand(), Audit: a.Server.Audit, Clock: a.Clock, Log: a.Log,
		CityName: demo.CityCenterName, Auth: a.Config.Auth,
	}))
	a.demoAfter = append(a.demoAfter, a.demoPasswords)
	a.closers = append(a.closers, func() error { demoPasswordParts.Delete(a); return nil })
	return nil
}

// DemoPasswords returns the passwords generated for the demo users when this App loaded the
// demo data with Config.Demo set (`certseal serve -demo`), by username; nil otherwise. They are
// never fixed in code, and only their argon2id hashes are stored.
func (a *App) DemoPasswords() map[string]string {
	if v, ok := demoPasswordParts.Load(a); ok {
		return v.(map[string]string)
	}
	return nil
}

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
	demoPasswordParts.Store(a, pw)
	return nil
}
