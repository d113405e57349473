package inventory

import (
	"certseal"
	"certseal/internal/orgs"
	"certseal/internal/store"
)

// describe fills in, for people, what a stored movement carries only as ids: the
// organisations' names (a use, void or loss records only their ids), the display name of the
// user (经办人; "系统" for the service itself, the login when the user is unknown) and the licence
// number of the certificate a form was used for. The names are today's, looked up once per
// query.
func (s *Service) describe(tx *store.Tx, ms []Movement) {
	nm := newNames(tx)
	users := map[string]string{}
	for i := range ms {
		m := &ms[i]
		if m.FromOrgName == "" && m.FromOrgID != "" {
			m.FromOrgName = nm.org(m.FromOrgID)
		}
		if m.ToOrgName == "" && m.ToOrgID != "" {
			m.ToOrgName = nm.org(m.ToOrgID)
		}
		if m.OperatorName == "" {
			name, ok := users[m.UserID]
			if !ok {
				name = operatorName(tx, m.UserID, m.Username)
				users[m.UserID] = name
			}
			m.OperatorName = name
		}
		if m.LicenceNumber == "" && m.CertificateID != "" && s.LicenceNumber != nil {
			m.LicenceNumber = s.LicenceNumber(tx, m.CertificateID)
		}
	}
}

// operatorName is the display name of the user with the given id: 系统 for the service itself,
// the login when the user is not known.
func operatorName(tx *store.Tx, userID, login string) string {
	if userID == certseal.System.UserID {
		return "系统"
	}
	if u, err := orgs.GetUser(tx, userID); err == nil && u.Name != "" {
		return u.Name
	}
	return login
}
