package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"certseal"
	"certseal/internal/catalogue"
	"certseal/internal/orgs"
	"certseal/inventory"
)

// A form with several mistakes shows them all at once (issue #11 §4): the page's handler checks
// every field it can before calling the service, collects what is wrong in webErrs, and answers
// the form again with the list at the top and each field marked.

// webFieldError is one mistake of a form: the field's name in the form, its label on the page,
// and what is wrong in Chinese.
type webFieldError struct {
	Field, Label, Message string
}

// webErrs collects the mistakes of a form, at most one per field.
type webErrs []webFieldError

// add records err (nil is nothing) against the field, unless the field has one already.
func (e *webErrs) add(field, label string, err error) {
	if err != nil {
		e.addMsg(field, label, certseal.ErrorMessage(err))
	}
}

// addMsg records a message against the field, unless the field has one already.
func (e *webErrs) addMsg(field, label, msg string) {
	if e.has(field) {
		return
	}
	*e = append(*e, webFieldError{Field: field, Label: label, Message: msg})
}

func (e webErrs) has(field string) bool {
	for _, x := range e {
		if x.Field == field {
			return true
		}
	}
	return false
}

// failForm answers the form again (400) with every mistake listed and marked.
func (m *Web) failForm(w http.ResponseWriter, r *http.Request, name string, v *webView, errs webErrs) {
	v.Errors = errs
	if len(errs) > 0 {
		v.Error, v.ErrorAt = errs[0].Label+"："+errs[0].Message, errs[0].Field
	}
	m.render(w, r, http.StatusBadRequest, name, v)
}

// Err returns what is wrong with the form field, or "": for {{if $.Err "name"}} class="invalid"
// and the message under the field.
func (v *webView) Err(field string) string {
	for _, e := range v.Errors {
		if e.Field == field {
			return e.Message
		}
	}
	if len(v.Errors) == 0 && field != "" && v.ErrorAt == field {
		return v.Error
	}
	return ""
}

// orgFormErrs checks every field of the new-organisation form (the service checks again).
func orgFormErrs(o certseal.Org) webErrs {
	var e webErrs
	switch n := utf8.RuneCountInString(strings.TrimSpace(o.Name)); {
	case n == 0:
		e.addMsg("name", "机构名称", "不能为空")
	case n > certseal.MaxNameLen:
		e.addMsg("name", "机构名称", fmt.Sprintf("不能超过%d个字符", certseal.MaxNameLen))
	}
	if !o.Kind.Valid() {
		e.addMsg("kind", "类型", "请选择机构类型")
	}
	e.add("uscc", "统一社会信用代码", certseal.CheckUSCC(o.USCC))
	if o.AreaCode != "" && !certseal.ValidAreaCode(o.AreaCode) {
		e.addMsg("area_code", "行政区划代码", "应为6位数字，如 510802")
	}
	return e
}

// userFormErrs checks every field of the new-user form against the organisations.
func userFormErrs(u certseal.User, all []certseal.Org) webErrs {
	var e webErrs
	if !orgs.ValidUsername(u.Username) {
		e.addMsg("username", "用户名", "应为3至32位字母、数字、点、下划线或连字符")
	}
	if n := utf8.RuneCountInString(u.Name); n == 0 || n > 50 {
		e.addMsg("name", "姓名", "不能为空且不能超过50个字符")
	}
	var org *certseal.Org
	for i := range all {
		if all[i].ID == u.OrgID {
			org = &all[i]
		}
	}
	switch {
	case org == nil:
		e.addMsg("org_id", "机构", "请选择机构")
	case !u.Role.Valid():
		e.addMsg("role", "角色", "请选择角色")
	case !certseal.RoleFits(u.Role, org.Kind):
		e.addMsg("role", "角色", fmt.Sprintf("“%s”不能属于%s“%s”", u.Role.Label(), org.Kind.Label(), org.Name))
	}
	return e
}

// receiveFormErrs checks every field of the receiving form; typ is the chosen licence type
// (nil when none is), yuan the unit price as typed.
func receiveFormErrs(rc inventory.Receipt, typ *catalogue.LicenceType, yuan string) webErrs {
	var e webErrs
	if typ == nil {
		e.addMsg("type", "证照类型", "请选择证照类型")
	}
	if rc.First == "" {
		e.addMsg("first", "起始印制编号", "不能为空")
	}
	if rc.Last == "" {
		e.addMsg("last", "终止印制编号", "不能为空")
	}
	if yuan != "" {
		if y, err := strconv.ParseFloat(yuan, 64); err != nil || y < 0 || y > 100000 {
			e.addMsg("unit_cost", "单价（元）", "应为金额（元），如 1.20")
		}
	}
	need := func(field, label, v string) {
		if strings.TrimSpace(v) == "" {
			e.addMsg(field, label, "按“"+rc.Channel.Label()+"”入库时必须填写")
		}
	}
	switch rc.Channel {
	case catalogue.ChannelPrinter:
		need("supplier", "供货单位", rc.Supplier)
		need("contract", "合同或发票号", rc.Contract)
	case catalogue.ChannelLocalPrint:
		need("batch", "印制批次", rc.Batch)
	case catalogue.ChannelProvincial:
		need("provincial_dept", "省直部门", rc.ProvincialDept)
		need("document", "领取凭证号", rc.Document)
	}
	return e
}
