package server

import (
	"net/http"

	"certseal"
	"certseal/certs/push"
)

// PushAPI is the HTTP module of the result push (审批结果推送): webhook subscriptions, their
// delivery logs and redelivery.
type PushAPI struct {
	Pusher *push.Pusher
}

// NewPushAPI returns the result push module.
func NewPushAPI(p *push.Pusher) *PushAPI { return &PushAPI{Pusher: p} }

// Routes returns the module's routes: administrators manage every subscription, city
// department and county officers their own organisation's, auditors read them all.
func (m *PushAPI) Routes() []Route {
	readers := []certseal.Role{certseal.RoleAdmin, certseal.RoleDeptOfficer, certseal.RoleBureauOfficer, certseal.RoleAuditor}
	writers := []certseal.Role{certseal.RoleAdmin, certseal.RoleDeptOfficer, certseal.RoleBureauOfficer}
	return []Route{
		{Method: "GET", Path: "/api/v1/subscriptions", Name: "subscriptions.list", Roles: readers, Handler: m.list},
		{Method: "POST", Path: "/api/v1/subscriptions", Name: "subscriptions.create", Roles: writers, Handler: m.create},
		{Method: "GET", Path: "/api/v1/subscriptions/{id}", Name: "subscriptions.get", Roles: readers, Handler: m.get},
		{Method: "PATCH", Path: "/api/v1/subscriptions/{id}", Name: "subscriptions.update", Roles: writers, Handler: m.update},
		{Method: "DELETE", Path: "/api/v1/subscriptions/{id}", Name: "subscriptions.delete", Roles: writers, Handler: m.delete},
		{Method: "GET", Path: "/api/v1/subscriptions/{id}/deliveries", Name: "subscriptions.deliveries", Roles: readers, Handler: m.deliveries},
		{Method: "POST", Path: "/api/v1/subscriptions/{id}/redeliver", Name: "subscriptions.redeliver", Roles: writers, Handler: m.redeliver},
		{Method: "GET", Path: "/api/v1/subscriptions/{id}/deliveries/{delivery}", Name: "deliveries.get", Roles: readers, Handler: m.delivery},
		{Method: "POST", Path: "/api/v1/subscriptions/{id}/deliveries/{delivery}/redeliver", Name: "deliveries.redeliver", Roles: writers, Handler: m.redeliverOne},
	}
}

// subscriptionWithSecret is a subscription as returned at creation (and on rotation): the only
// time its secret is shown.
type subscriptionWithSecret struct {
	push.Subscription
	// Secret is "whsec_" and the HMAC key in unpadded URL-safe base64: the receiver decodes the
	// text after whsec_ to 32 bytes and computes HMAC-SHA256 with them over the raw body (see
	// push.EncodeSecret and the README).
	Secret string `json:"secret,omitempty"`
}

func (m *PushAPI) list(w http.ResponseWriter, r *http.Request) {
	subs, err := m.Pusher.ListSubscriptions(r.Context(), Actor(r), r.URL.Query().Get("org_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(subs, ""))
}

func (m *PushAPI) create(w http.ResponseWriter, r *http.Request) {
	var in push.SubscriptionInput
	if err := Decode(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	s, secret, err := m.Pusher.CreateSubscription(r.Context(), Actor(r), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/subscriptions/"+s.ID)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, subscriptionWithSecret{s, secret})
}

func (m *PushAPI) get(w http.ResponseWriter, r *http.Request) {
	s, err := m.Pusher.GetSubscription(r.Context(), Actor(r), Var(r, "id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (m *PushAPI) update(w http.ResponseWriter, r *http.Request) {
	var p push.SubscriptionPatch
	if err := Decode(w, r, &p); err != nil {
		writeError(w, r, err)
		return
	}
	s, secret, err := m.Pusher.UpdateSubscription(r.Context(), Actor(r), Var(r, "id"), p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if secret != "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	writeJSON(w, http.StatusOK, subscriptionWithSecret{s, secret})
}

func (m *PushAPI) delete(w http.ResponseWriter, r *http.Request) {
	if err := m.Pusher.DeleteSubscription(r.Context(), Actor(r), Var(r, "id")); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": Var(r, "id"), "status": "deleted"})
}

func (m *PushAPI) deliveries(w http.ResponseWriter, r *http.Request) {
	pg, err := PageOf(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	ds, next, err := m.Pusher.Deliveries(r.Context(), Actor(r), Var(r, "id"), pg.Cursor, pg.Limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(ds, next))
}

func (m *PushAPI) delivery(w http.ResponseWriter, r *http.Request) {
	d, err := m.Pusher.GetDelivery(r.Context(), Actor(r), Var(r, "id"), Var(r, "delivery"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// redeliverRequest rewinds a subscription to an event sequence number.
type redeliverRequest struct {
	FromSeq uint64 `json:"from_seq"`
}

func (m *PushAPI) redeliver(w http.ResponseWriter, r *http.Request) {
	var in redeliverRequest
	if err := Decode(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	s, err := m.Pusher.Redeliver(r.Context(), Actor(r), Var(r, "id"), in.FromSeq)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, s)
}

func (m *PushAPI) redeliverOne(w http.ResponseWriter, r *http.Request) {
	s, err := m.Pusher.RedeliverDelivery(r.Context(), Actor(r), Var(r, "id"), Var(r, "delivery"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, s)
}
