package templates_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"certseal/internal/fixtures"
	"certseal/templates"
)

// reportPDF lays out a report with a table of n rows and returns its PDF.
func reportPDF(t testing.TB, n int) []byte {
	t.Helper()
	r, err := templates.NewReport("测试报表\x07标题", "广元市政务服务中心", time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	r.Line("测试报表", templates.TextStyle{Size: 18, Height: 11, Align: templates.AlignCenter})
	r.Rule()
	tb := templates.Table{Columns: []templates.Column{
		{Title: "序号", Width: 20, Align: templates.AlignCenter},
		{Title: "单位名称", Width: 100},
		{Title: "数量", Width: 60, Align: templates.AlignRight},
	}, Total: []templates.Cell{{}, {Text: "合计", Align: templates.AlignCenter}, {Text: "999"}}}
	for i := range n {
		name := "利州区行政审批局"
		if i == 1 {
			name = strings.Repeat("很长的单位名称", 10) // cut with an ellipsis
		}
		if i == 2 {
			name = "表情\U0001F600与控制\x01字符"
		}
		tb.Rows = append(tb.Rows, []templates.Cell{{Text: strconv.Itoa(i + 1)}, {Text: name}, {Text: strconv.Itoa(10 * i), Color: [3]int{200, 0, 0}}})
	}
	r.Table(tb)
	r.Paragraph(strings.Repeat("注：这是一段需要自动换行的说明文字。", 8), templates.TextStyle{Size: 8.5, Height: 4.8})
	b, err := r.PDF()
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.PDF()
	if err != nil || !bytes.Equal(b, again) {
		t.Fatalf("a second PDF differs (%v)", err)
	}
	return b
}

func TestReport(t *testing.T) {
	fixtures.NeedTool(t, "pdftotext", "poppler-utils")
	for _, tc := range []struct {
		rows, pages int
	}{{0, 1}, {3, 1}, {100, 3}} {
		t.Run(strconv.Itoa(tc.rows), func(t *testing.T) {
			b := reportPDF(t, tc.rows)
			dir := os.Getenv("REPORT_SAMPLE_DIR")
			if dir == "" {
				dir = t.TempDir()
			}
			path := filepath.Join(dir, "report-"+strconv.Itoa(tc.rows)+".pdf")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
			if err != nil {
				t.Fatal(err)
			}
			pages := strings.Split(strings.TrimRight(string(out), "\f"), "\f")
			if len(pages) != tc.pages {
				t.Fatalf("got %d pages, want %d:\n%s", len(pages), tc.pages, out)
			}
			for i, p := range pages {
				want := []string{"测试报表 标题", "第 " + strconv.Itoa(i+1) + " 页 共 " + strconv.Itoa(tc.pages) + " 页", "单位名称"}
				if i == len(pages)-1 {
					want = append(want, "合计", "说明文字")
				}
				for _, w := range want {
					if !strings.Contains(p, w) {
						t.Errorf("page %d lacks %q:\n%s", i+1, w, p)
					}
				}
			}
			if tc.rows >= 3 {
				for _, w := range []string{"表情？与控制 字符", "单位名称很长的…"} {
					if !strings.Contains(string(out), w) {
						t.Errorf("the text lacks %q:\n%s", w, out)
					}
				}
				if strings.Contains(string(out), strings.Repeat("很长的单位名称", 10)) {
					t.Error("the long name was not cut")
				}
			}
			if info, err := exec.Command("pdfinfo", path).Output(); err == nil && !strings.Contains(string(info), "广元市政务服务中心") {
				t.Errorf("no author in\n%s", info)
			}
		})
	}
}

// BenchmarkReport lays out and writes a report of one table of 500 rows.
func BenchmarkReport(b *testing.B) {
	for b.Loop() {
		reportPDF(b, 500)
	}
}
