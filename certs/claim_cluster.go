package certs

import "context"

// claimCluster is claimInOrder on a cluster: the claims are held in etcd under the node's lease
// (store.DB.Claim), so a clerk on another node racing for the same blank serial, or a retry of a
// request that reached another node, hears the same answer as on one node.
func (s *Service) claimCluster(reqs []claimReq) (func(), error) {
	keys := make([]string, len(reqs))
	for i, r := range reqs {
		keys[i] = r.key
	}
	release, held, err := s.DB.Claim(context.Background(), keys)
	if err != nil {
		return nil, err
	}
	if held >= 0 {
		return nil, reqs[held].err
	}
	return release, nil
}
