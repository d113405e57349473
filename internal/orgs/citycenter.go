package orgs

import (
	"context"
	"time"

	"certseal"
	"certseal/internal/store"
)

// CityCenter returns the city center (市政务服务和公共资源交易中心), which administers the service
// and runs the demand rounds: the first organisation of that kind in id order. It returns an
// *Error with code ENotFound when there is none yet.
func (s *Service) CityCenter(ctx context.Context) (certseal.Org, error) {
	var o certseal.Org
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		o, err = CityCenterTx(tx)
		return err
	})
	return o, err
}

// CityCenterTx is CityCenter inside the caller's transaction.
func CityCenterTx(tx *store.Tx) (certseal.Org, error) {
	all, err := All(tx)
	if err != nil {
		return certseal.Org{}, err
	}
	for _, o := range all {
		if o.Kind == certseal.KindCityCenter {
			return o, nil
		}
	}
	return certseal.Org{}, certseal.Errorf(certseal.ENotFound, "尚未登记市政务服务中心")
}

// EnsureCityCenterTx returns the city center inside tx: the organisation with c's USCC, or else
// any city center, or else c itself, validated and created now. The boolean says whether it
// was created.
func EnsureCityCenterTx(tx *store.Tx, now time.Time, c certseal.Org) (certseal.Org, bool, error) {
	if o, err := ByUSCC(tx, c.USCC); err == nil {
		return o, false, nil
	}
	if o, err := CityCenterTx(tx); err == nil {
		return o, false, nil
	} else if certseal.ErrorCode(err) != certseal.ENotFound {
		return c, false, err
	}
	if err := c.Validate(); err != nil {
		return c, false, err
	}
	o, err := Create(tx, now, certseal.System, c)
	return o, true, err
}

// Init is what InitAdmin did.
type Init struct {
	Center  certseal.Org  // the city center, found or created
	Admin   certseal.User // the administrator, found or created
	Created bool          // whether the administrator was created by this call
	Token   string        // the secret of the new API token of the administrator (shown once)
}

// InitAdmin prepares a new database for its first administrator, in one transaction, as the
// system: it finds or creates the city center (see EnsureCityCenterTx), finds the user with
// admin's username or creates admin in the city center, and issues the user a new API token
// named tokenName. Each change is audited. It returns an *Error (EInvalid, EConflict) when
// center or admin is not acceptable.
func (s *Service) InitAdmin(ctx context.Context, center certseal.Org, admin certseal.User, tokenName string) (Init, error) {
	var res Init
	err := s.DB.Update(func(tx *store.Tx) error {
		res = Init{}
		now := s.Clock.Now()
		c, _, err := EnsureCityCenterTx(tx, now, center)
		if err != nil {
			return err
		}
		res.Center = c
		u, err := UserByName(tx, admin.Username)
		if err != nil {
			admin.OrgID = c.ID
			u, err = CreateUserTx(tx, now, certseal.System, admin)
			if err != nil {
				return err
			}
			res.Created = true
		}
		res.Admin = u
		_, res.Token, err = CreateTokenTx(tx, now, certseal.System, u.ID, tokenName)
		return err
	})
	return res, err
}

// UserByName returns the user with the given username (in any case), or an *Error with code
// ENotFound.
func (s *Service) UserByName(ctx context.Context, username string) (certseal.User, error) {
	var u certseal.User
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		u, err = UserByName(tx, username)
		return err
	})
	return u, err
}
