package certs

import "time"

// AllowedOps returns the operations the lifecycle allows on c as of now, in the order of Ops():
// those whose rule starts from c's current status (a valid certificate past its end date counts
// as expired), none on a version a newer one has superseded, and replace (补证) only for a
// certificate printed on a blank form. Who may operate is checked apart (the issuing
// organisation and the city center); a page offers these and nothing else.
func AllowedOps(c Certificate, now time.Time) []string {
	var out []string
	for _, op := range Ops() {
		rule, ok := opRules[op]
		if !ok || checkTransition(rule, op, &c, now) != nil {
			continue
		}
		if op == "replace" && c.Serial == "" {
			continue
		}
		out = append(out, op)
	}
	return out
}

// OpLabel returns the Chinese name of a lifecycle operation (暂扣 for suspend), or op itself
// when it is not one.
func OpLabel(op string) string {
	if r, ok := opRules[op]; ok {
		return r.label
	}
	return op
}
