package certs_test

import (
	"slices"
	"testing"
	"time"

	"certseal"
	"certseal/certs"
)

func day(s string, hour int) time.Time {
	d, _ := time.ParseInLocation("2006-01-02", s, certseal.China)
	return d.Add(time.Duration(hour) * time.Hour)
}

// TestStatusAsOfNow: the status and its label are computed from the clock: 未生效 before
// valid_from, 有效, 失效 after valid_to, and 已由第N版取代 from the day the newer version takes
// effect; and the operations offered follow.
func TestStatusAsOfNow(t *testing.T) {
	c := certs.Certificate{Version: 1, Status: certs.StatusValid, ValidFrom: "2026-03-02", ValidTo: "2030-03-26", Serial: "SC00000001"}
	renewed := c
	renewed.SupersededBy, renewed.SupersededFrom = "9", "2030-03-27"
	cases := []struct {
		name  string
		c     certs.Certificate
		at    time.Time
		label string
		ops   []string
		not   []string
	}{
		{"before valid_from", c, day("2026-03-01", 23), "未生效", []string{"revoke", "cancel", "replace"}, []string{"suspend", "renew", "transfer_out"}},
		{"first day", c, day("2026-03-02", 0), "有效", []string{"suspend", "renew", "transfer_out", "change"}, []string{"reinstate", "transfer_in"}},
		{"last day", c, day("2030-03-26", 23), "有效", []string{"suspend"}, nil},
		{"day after", c, day("2030-03-27", 0), "失效", []string{"renew", "cancel", "expire"}, []string{"suspend", "change"}},
		{"renewed, old in force", renewed, day("2030-03-26", 12), "有效", nil, []string{"suspend", "renew"}},
		{"renewed, new in force", renewed, day("2030-03-27", 0), "已由第2版取代", nil, []string{"cancel"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.StatusText(tc.at); got != tc.label {
				t.Errorf("StatusText = %s, want %s", got, tc.label)
			}
			ops := certs.OpsFrom(&tc.c, tc.at)
			for _, op := range tc.ops {
				if !slices.Contains(ops, op) {
					t.Errorf("OpsFrom lacks %s: %v", op, ops)
				}
			}
			for _, op := range tc.not {
				if slices.Contains(ops, op) {
					t.Errorf("OpsFrom offers %s: %v", op, ops)
				}
			}
		})
	}
	moved := certs.Certificate{Version: 1, Status: certs.StatusTransferredOut, TransferToOrgID: "7"}
	if ops := certs.OpsFrom(&moved, day("2027-01-01", 0)); !slices.Equal(ops, []string{"cancel_transfer", "transfer_in"}) {
		t.Errorf("OpsFrom of a certificate transferred out: %v", ops)
	}
}

// TestOperationCodeTable: every operation has a code: the national one (01-10) or 99 其他 with
// its own label, for the five the national list lacks and for a superseded version.
func TestOperationCodeTable(t *testing.T) {
	national := map[string]string{"issue": "01", "renew": "02", "suspend": "03", "expire": "04", "cancel": "05",
		"reinstate": "06", "transfer_in": "08", "change": "09", "cancel_transfer": "10"}
	for _, op := range append(certs.Ops(), "issue", "superseded") {
		c, ok := certs.OperationCode(op)
		if !ok || c.Code == "" || c.Label == "" {
			t.Errorf("%s: %+v %v", op, c, ok)
			continue
		}
		if want, ok := national[op]; ok && (c.Code != want || !c.National) {
			t.Errorf("%s: %+v, want national code %s", op, c, want)
		}
		if _, ok := national[op]; !ok && (c.Code != certs.OtherOpCode || c.National) {
			t.Errorf("%s: %+v, want %s 其他", op, c, certs.OtherOpCode)
		}
	}
	if _, ok := certs.OperationCode("fly"); ok {
		t.Error("an unknown operation has a code")
	}
}

// TestOperationRequestTransfer: a transfer out names the receiving bureau, a transfer in the
// receiving bureau's seal.
func TestOperationRequestTransfer(t *testing.T) {
	cases := []struct {
		req certs.OperationRequest
		ok  bool
	}{
		{certs.OperationRequest{Op: "transfer_out", Reason: "迁出"}, false},
		{certs.OperationRequest{Op: "transfer_out", Reason: "迁出", TargetOrgID: "6"}, true},
		{certs.OperationRequest{Op: "suspend", Reason: "暂扣", TargetOrgID: "6"}, false},
		{certs.OperationRequest{Op: "transfer_in", Reason: "迁入"}, false},
		{certs.OperationRequest{Op: "transfer_in", Reason: "迁入", SealID: "ES510811000001"}, true},
	}
	for _, c := range cases {
		err := c.req.Validate()
		if (err == nil) != c.ok || err != nil && certseal.ErrorCode(err) != certseal.EInvalid {
			t.Errorf("%+v: %v", c.req, err)
		}
	}
}
