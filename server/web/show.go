package web

import (
	"context"
	"strings"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/internal/orgs"
	"certseal/inventory"
)

// How the pages show values (issue #11 §4): every time in China time as "2026-12-02 03:37",
// every enumeration by its Chinese label, every person by the name they are known by.

// webChina is China Standard Time (UTC+8, no daylight saving) without the machine's tzdata.
var webChina = time.FixedZone("CST", 8*3600)

// webTime writes a moment in China time as 2026-12-02 03:37. It takes a time.Time, a *time.Time,
// a stored RFC 3339 string (the certificate history keeps its times so) or a China-time
// "2006-01-02 15:04:05"; the zero time, nil and "" are "". A string that is not a time is returned as it is.
func webTime(v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return ""
		}
		t = *x
	case string:
		if x == "" {
			return ""
		}
		p, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			// A China-time stamp with seconds (the verification's 核验时间).
			if p, err = time.ParseInLocation("2006-01-02 15:04:05", x, webChina); err != nil {
				return x
			}
		}
		t = p
	default:
		return ""
	}
	if t.IsZero() {
		return ""
	}
	return t.In(webChina).Format("2006-01-02 15:04")
}

// webDate writes the day of a moment in China time as 2026-12-02 (same inputs as webTime).
func webDate(v any) string {
	s := webTime(v)
	if len(s) >= 10 && s[4] == '-' {
		return s[:10]
	}
	return s
}

// labeler is an enumeration that knows its Chinese name: organisation kinds, roles, channels,
// certificate, blank-form, batch, seal, stocktake, round and filing states, movement kinds.
type labeler interface{ Label() string }

// webLabels is the label table of the enumerations stored as plain strings, by domain. The
// typed enumerations carry their labels themselves (their Label methods); webLabel serves both.
var webLabels = map[string]map[string]string{
	"level": {"national": "国家级", "provincial": "省级", "city": "市级", "county": "县级"},
	// The objects and the verbs of the audit log's actions ("certificate.suspend" and so on).
	"audit.object": {"certificate": "证照", "certificate.batch": "批量签发", "inventory": "空白证照", "inventory.stocktake": "盘点",
		"demand.filing": "需求报送单", "demand.round": "需求征订", "demand.plan": "下发计划", "org": "机构", "user": "用户",
		"token": "访问令牌", "seal": "印章", "template": "模板", "item": "事项目录", "licence_type": "证照类型", "binding": "事项绑定",
		"push.subscription": "推送订阅"},
	"audit.verb": {"create": "新增", "update": "修改", "delete": "删除", "upload": "上传", "revoke": "吊销", "lockout": "锁定",
		"password_change": "修改密码", "password_set": "设置密码", "open": "发布", "close": "截止", "reopen": "重新开放",
		"make": "生成", "done": "完成", "failed": "未通过检查", "redeliver": "重新推送", "issue": "签发", "number_unused": "编号作废",
		"threshold": "库存预警", "approve": "审批通过", "reject": "驳回", "suspend": "暂停", "reinstate": "恢复",
		"save": "保存", "submit": "报送", "amend": "修改", "withdraw": "撤回", "return": "退回修改", "superseded": "被新版本替代"},
}

// webLabel returns the Chinese label of an enumeration value: label(v) for a typed value,
// label "domain" v for a plain string of a domain of webLabels ("level", "audit"). An unknown
// value is returned as it is.
func webLabel(args ...any) string {
	switch len(args) {
	case 1:
		if l, ok := args[0].(labeler); ok {
			return l.Label()
		}
		if s, ok := args[0].(string); ok {
			return s
		}
		return ""
	case 2:
		domain, _ := args[0].(string)
		v, _ := args[1].(string)
		if domain == "audit" {
			return auditLabel(v)
		}
		if l, ok := webLabels[domain][v]; ok {
			return l
		}
		return v
	}
	return ""
}

// auditLabel names an audit action: its object and verb ("证照：暂扣").
func auditLabel(action string) string {
	i := strings.LastIndexByte(action, '.')
	if i < 0 {
		return action
	}
	obj, verb := action[:i], action[i+1:]
	o, ok := webLabels["audit.object"][obj]
	if !ok {
		return action
	}
	if obj == "certificate" {
		if l := certs.OpLabel(verb); l != verb {
			return o + "：" + l
		}
	}
	if obj == "inventory" {
		if l := inventory.Kind(verb).Label(); l != verb {
			return o + "：" + l
		}
	}
	if v, ok := webLabels["audit.verb"][verb]; ok {
		return o + "：" + v
	}
	return action
}

// webPeople looks up the display names of users by login name for one page, once each.
type webPeople struct {
	ctx   context.Context // the request's
	orgs  *orgs.Service
	names map[string]string
}

// name returns the user's display name: 系统 for the system itself, the login name when the
// user is not found (a deleted user keeps the name the records show).
func (p *webPeople) name(username string) string {
	if username == "" {
		return ""
	}
	if username == certseal.System.Username {
		return "系统"
	}
	if n, ok := p.names[username]; ok {
		return n
	}
	n := username
	if p.orgs != nil {
		if u, err := p.orgs.UserByName(p.ctx, username); err == nil && u.Name != "" {
			n = u.Name
		}
	}
	if p.names == nil {
		p.names = map[string]string{}
	}
	p.names[username] = n
	return n
}

// Who returns the display name of the user with the login name, for the pages' 经办人 and 签发人
// columns ({{$.Who .By}}).
func (v *webView) Who(username string) string {
	if v.people == nil {
		v.people = &webPeople{}
	}
	return v.people.name(username)
}
