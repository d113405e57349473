package demand_test

import (
	"bytes"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"certseal"
	"certseal/internal/demo"
	"certseal/internal/fixtures"
	"certseal/inventory/demand"
)

// sampleSummary files for every organisation of a demo round: most approved (some adjusted),
// one submitted, one draft, one missing.
func sampleSummary(t *testing.T) demand.Summary {
	e := ledgerEnv(t)
	r := e.yearly(t)
	qty := []int64{100, 260, 80, 120, 45, 160, 210, 30}
	for i, p := range r.Participants {
		if i == 6 {
			continue // missing
		}
		a := e.actor(t, p.OrgName, certseal.RoleBureauOfficer)
		var lines []demand.LineRequest
		if p.Kind == certseal.KindCountyDept {
			lines = append(lines, line(demo.TypeRoadTransport, 40))
		} else {
			lines = append(lines, line(demo.TypeFood, qty[i]), line(demo.TypeConstruction, qty[i]/5), line(demo.TypeRoadTransport, qty[i]/4))
		}
		f := must(e.svc.SaveFiling(ctx, a, r.ID, filing(lines...)))
		if i == 5 {
			continue // draft
		}
		must(e.svc.SubmitFiling(ctx, a, f.ID))
		if i == 3 {
			continue // submitted, not yet approved
		}
		req := demand.ApproveRequest{}
		if i == 1 {
			req.Lines = []demand.ApprovedLine{{TypeCode: demo.TypeFood, Quantity: 200}}
		}
		must(e.svc.ApproveFiling(ctx, e.admin, f.ID, req))
	}
	return must(e.svc.Summary(ctx, e.admin, r.ID))
}

func TestExports(t *testing.T) {
	s := sampleSummary(t)
	if s.Requested == 0 || s.Approved == 0 || s.Flagged == 0 {
		t.Fatalf("the sample is too thin: %+v", s)
	}

	t.Run("csv", func(t *testing.T) {
		var b bytes.Buffer
		if err := demand.WriteSummaryCSV(&b, s); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b.Bytes(), []byte("\ufeff")) {
			t.Fatal("no byte-order mark")
		}
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(b.String(), "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(recs[0], ",") != strings.Join(demand.DetailHeaders, ",") {
			t.Fatalf("got headers %v", recs[0])
		}
		rows := 0
		for _, ts := range s.Types {
			rows += len(ts.Rows) + 1
		}
		if len(recs) != rows+1 {
			t.Fatalf("got %d records, want %d", len(recs), rows+1)
		}
		if !strings.Contains(b.String(), "利州区行政审批局") || !strings.Contains(b.String(), "合计") || !strings.Contains(b.String(), "差异较大") {
			t.Fatalf("missing content:\n%s", b.String())
		}
	})

	t.Run("csv defuses formulas", func(t *testing.T) {
		x := s
		x.Types = append([]demand.TypeSummary(nil), s.Types...)
		x.Types[0].Rows = append([]demand.Row(nil), s.Types[0].Rows...)
		x.Types[0].Rows[0].Reason = "=HYPERLINK(\"http://x\")"
		var b bytes.Buffer
		if err := demand.WriteSummaryCSV(&b, x); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), ",\"=HYPERLINK") || !strings.Contains(b.String(), "'=HYPERLINK") {
			t.Fatalf("a formula went through:\n%s", b.String())
		}
	})

	t.Run("xlsx", func(t *testing.T) {
		var b bytes.Buffer
		if err := demand.WriteSummaryXLSX(&b, s); err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenReader(&b)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if got := strings.Join(f.GetSheetList(), ","); got != "汇总,明细,按供应渠道,按负责部门,按报送单位" {
			t.Fatalf("got sheets %s", got)
		}
		rows, err := f.GetRows("汇总")
		if err != nil {
			t.Fatal(err)
		}
		if rows[0][1] != "证照类型" || rows[1][1] != "食品经营许可证" || len(rows) != len(s.Types)+2 {
			t.Fatalf("got 汇总 %v", rows)
		}
		last := rows[len(rows)-1]
		if last[1] != "合计" || last[10] != itoa(s.Approved) {
			t.Fatalf("got total row %v, want approved %d", last, s.Approved)
		}
	})

	t.Run("pdf", func(t *testing.T) {
		var b bytes.Buffer
		if err := demand.WriteSummaryPDF(&b, s, demo.CityCenterName); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b.Bytes(), []byte("%PDF-")) {
			t.Fatal("not a PDF")
		}
		dir := os.Getenv("DEMAND_SAMPLE_DIR")
		if dir == "" {
			dir = t.TempDir()
		}
		path := filepath.Join(dir, "demand-summary.pdf")
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		fixtures.NeedTool(t, "pdftotext", "poppler-utils")
		out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"广元市2026年度空白证照需求汇总表", "食品经营许可证", "利州区行政审批局", "合计", "填报单位（盖章）", "负责人"} {
			if !strings.Contains(string(out), want) {
				t.Fatalf("the PDF text lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("unknown format", func(t *testing.T) {
		wantCode(t, demand.WriteSummary(&bytes.Buffer{}, "doc", s, ""), certseal.EInvalid)
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
