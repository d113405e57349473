package certs

import "certseal"

// claimReq is one in-process claim: its key, and the error a concurrent request hears while
// the claim is held.
type claimReq struct {
	key string
	err *certseal.Error
}

// claimInOrder is claim with the claims checked in the order given: the first one held by
// another request decides the answer. Issue puts the idempotency key before the blank serial, so
// a retry of a request still running always hears "in progress, retry", never "serial taken".
func (s *Service) claimInOrder(reqs ...claimReq) (func(), error) {
	if c, _ := s.DB.Etcd(); c != nil {
		return s.claimCluster(reqs)
	}
	s.claimMu.Lock()
	defer s.claimMu.Unlock()
	if s.claims == nil {
		s.claims = map[string]bool{}
	}
	for _, r := range reqs {
		if s.claims[r.key] {
			return nil, r.err
		}
	}
	for _, r := range reqs {
		s.claims[r.key] = true
	}
	return func() {
		s.claimMu.Lock()
		for _, r := range reqs {
			delete(s.claims, r.key)
		}
		s.claimMu.Unlock()
	}, nil
}
