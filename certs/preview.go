package certs

import (
	"context"
	"maps"
	"slices"

	"certseal"
	"certseal/templates"
)

// PreviewNumber is printed where the licence number goes on a preview: the number is allocated
// only when the certificate is issued.
const PreviewNumber = "（签发时自动生成）"

// Preview is a certificate as Issue would print it, before it is issued.
type Preview struct {
	// Template is the template version Issue would render with.
	Template *templates.Template
	// Document is what Issue would render: the same values, filled in by the same rules
	// (issuer, dates, validity, holder), with PreviewNumber for the licence number and no QR code
	// (its payload is signed with the seal's key, on issue).
	Document templates.Document
}

// Preview runs the checks Issue runs before it writes anything, except the seal's (a preview is
// neither sealed nor signed), and returns the document Issue would render for the request, so
// that a preview shows what the certificate will print. It writes nothing. It returns the
// *certseal.Error Issue would return for the same request.
func (s *Service) Preview(ctx context.Context, actor certseal.Actor, req IssueRequest) (Preview, error) {
	if err := req.Validate(); err != nil {
		return Preview{}, err
	}
	if actor.Role != certseal.RoleClerk && actor.Role != certseal.RoleBureauOfficer {
		return Preview{}, certseal.Errorf(certseal.EForbidden, "只有审批局的窗口工作人员或经办人可以签发证照")
	}
	p, err := s.prepare(ctx, actor, &req)
	if err != nil {
		return Preview{}, err
	}
	doc := p.document(PreviewNumber, "")
	doc.Title = p.typ.Name + " 预览"
	return Preview{Template: p.tpl, Document: doc}, nil
}

// document is what a certificate of the plan prints: the filled-in values, the licence number
// and the QR code's text. Issue and Preview both render it.
func (p *plan) document(number, qrText string) templates.Document {
	return templates.Document{Values: maps.Clone(p.values), LicenceNumber: number, QRPayload: qrText,
		Mode: templates.Full, Created: p.now, Title: p.typ.Name + " " + number}
}

// isSystemField reports whether the service fills in the template field itself on issue (see
// SystemFields), so that a batch never maps a column to it.
func isSystemField(name string) bool { return slices.Contains(SystemFields(), name) }
