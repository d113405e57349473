package certs_test

import (
	"slices"
	"testing"
	"time"

	"certseal"
	"certseal/certs"
)

// TestOpsFromTable: what a certificate's page offers, by status.
func TestOpsFromTable(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, certseal.China)
	for _, c := range []struct {
		name string
		c    certs.Certificate
		want []string
	}{
		{"valid paper", certs.Certificate{Status: certs.StatusValid, Serial: "SC1", ValidTo: "2030-01-01"},
			[]string{"suspend", "revoke", "withdraw", "cancel", "penalty_withdraw", "transfer_out", "renew", "change", "replace"}},
		{"valid electronic", certs.Certificate{Status: certs.StatusValid},
			[]string{"suspend", "revoke", "withdraw", "cancel", "penalty_withdraw", "transfer_out", "renew", "change"}},
		{"suspended", certs.Certificate{Status: certs.StatusSuspended}, []string{"reinstate", "revoke", "withdraw", "cancel", "penalty_withdraw"}},
		{"past its end", certs.Certificate{Status: certs.StatusValid, ValidTo: "2026-03-01"}, []string{"cancel", "expire", "renew"}},
		{"transferred out", certs.Certificate{Status: certs.StatusTransferredOut}, []string{"cancel_transfer", "transfer_in"}},
		{"revoked", certs.Certificate{Status: certs.StatusRevoked}, nil},
		{"superseded", certs.Certificate{Status: certs.StatusOther, SupersededBy: "2"}, nil},
	} {
		if got := certs.OpsFrom(&c.c, now); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if certs.OpLabel("suspend") != "暂扣" || certs.OpLabel("nothing") != "nothing" {
		t.Error("OpLabel")
	}
}
