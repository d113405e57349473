package orgs

import (
	"context"
	"errors"

	"certseal"
)

// ResetPassword sets a new password for a user, as SetPassword does (administrators only;
// audited as user.password_set; the user's web sessions end and the user must change it at the
// next sign-in). An empty password makes a fresh one (GeneratePassword). It returns the
// password set and whether it was made here, so that the caller shows a made one once. It
// returns the errors of SetPassword, each with Detail["field"] "password" when the password
// breaks the rules.
func (s *Service) ResetPassword(ctx context.Context, actor certseal.Actor, userID, password string) (string, bool, error) {
	generated := password == ""
	if generated {
		var err error
		if password, err = GeneratePassword(); err != nil {
			return "", false, err
		}
	}
	if err := s.SetPassword(ctx, actor, userID, password); err != nil {
		var e *certseal.Error
		if errors.As(err, &e) && e.Code == certseal.EInvalid {
			err = e.WithDetail("field", "password")
		}
		return "", false, err
	}
	return password, generated, nil
}
