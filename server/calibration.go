package server

import (
	"net/http"

	"certseal"
	"certseal/internal/orgs"
	"certseal/templates"
)

// CalibrationAPI is overlay calibration (issue 21 item 2): the printable calibration sheet, and
// the printer offset of an organisation (certseal.Org.PrintOffsetX/Y), which the overlay print
// of every certificate is shifted by. A county bureau's officers and window clerks set their
// own organisation's (they stand at the printer); the administrator any organisation's.
type CalibrationAPI struct {
	Orgs  *orgs.Service
	Clock certseal.Clock
}

// NewCalibrationAPI returns the calibration module over o, dating sheets with clock (the system
// clock if nil). It never fails.
func NewCalibrationAPI(o *orgs.Service, clock certseal.Clock) *CalibrationAPI {
	if clock == nil {
		clock = certseal.SystemClock{}
	}
	return &CalibrationAPI{Orgs: o, Clock: clock}
}

// OffsetRoles may set a printer offset: the administrator, and for their own organisation the
// county bureau officers and window clerks.
var OffsetRoles = []certseal.Role{certseal.RoleAdmin, certseal.RoleBureauOfficer, certseal.RoleClerk}

// Routes returns the module's routes.
func (m *CalibrationAPI) Routes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/calibration.pdf", Name: "calibration.sheet", Roles: OffsetRoles, Handler: m.sheet},
		{Method: "PUT", Path: "/api/v1/orgs/{id}/print-offset", Name: "orgs.print_offset", Roles: OffsetRoles, Handler: m.setOffset},
	}
}

// CalibrationSheet returns the calibration sheet's PDF for the organisation named org. It
// returns an error with code EInternal if the font does not load.
func CalibrationSheet(org string, clock certseal.Clock) ([]byte, error) {
	p, err := templates.CalibrationPlan(org, clock.Now())
	if err != nil {
		return nil, err
	}
	return templates.PDFWriter{}.Write(p)
}

func (m *CalibrationAPI) sheet(w http.ResponseWriter, r *http.Request) {
	pdf, err := CalibrationSheet(Principal(r).Org.Name, m.Clock)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writePDF(w, "套打校准页.pdf", pdf)
}

// OffsetRequest sets a printer offset: either where the calibration sheet's centre crosshair
// landed (MeasuredX/Y, mm from the paper's left and top edges), or the offset itself.
type OffsetRequest struct {
	MeasuredX *float64 `json:"measured_x_mm"`
	MeasuredY *float64 `json:"measured_y_mm"`
	OffsetX   *float64 `json:"print_offset_x_mm"`
	OffsetY   *float64 `json:"print_offset_y_mm"`
}

// SetOffset stores the offset of req on organisation id as actor (audited as org.update). It
// returns the organisation, or a *certseal.Error: EInvalid for a request that gives neither or
// both forms, or a measurement more than 20 mm off; EForbidden for another organisation's
// offset set by anyone but an administrator; ENotFound.
func SetOffset(r *http.Request, o *orgs.Service, actor certseal.Actor, id string, req OffsetRequest) (certseal.Org, error) {
	if _, err := o.GetOrg(r.Context(), id); err != nil {
		return certseal.Org{}, err
	}
	if actor.Role != certseal.RoleAdmin && actor.OrgID != id {
		return certseal.Org{}, certseal.Errorf(certseal.EForbidden, "只能设置本单位打印机的套打偏移")
	}
	measured := req.MeasuredX != nil && req.MeasuredY != nil
	given := req.OffsetX != nil && req.OffsetY != nil
	if measured == given || (!measured && (req.MeasuredX != nil || req.MeasuredY != nil)) {
		return certseal.Org{}, certseal.Errorf(certseal.EInvalid, "请填写中心十字的实测位置（measured_x_mm 和 measured_y_mm），或直接填写偏移（print_offset_x_mm 和 print_offset_y_mm），二者选一").WithDetail("field", "measured_x_mm")
	}
	x, y := 0.0, 0.0
	if measured {
		var err error
		if x, y, err = templates.CalibrationOffset(*req.MeasuredX, *req.MeasuredY); err != nil {
			return certseal.Org{}, err
		}
	} else {
		x, y = *req.OffsetX, *req.OffsetY
	}
	return o.UpdateOrg(r.Context(), actor, id, orgs.OrgPatch{PrintOffsetX: &x, PrintOffsetY: &y})
}

func (m *CalibrationAPI) setOffset(w http.ResponseWriter, r *http.Request) {
	var req OffsetRequest
	if err := Decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	org, err := SetOffset(r, m.Orgs, Actor(r), Var(r, "id"), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, org)
}
