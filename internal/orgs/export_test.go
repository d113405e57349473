package orgs

// SetHashHook makes the service call f when an argon2id password check starts (enter) and ends,
// saying whether it is against the dummy hash, so that tests can count checks.
func SetHashHook(s *Service, f func(dummy, enter bool)) { s.hashHook = f }
