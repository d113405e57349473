package templates

import (
	"fmt"
	"time"

	"certseal"
)

// The overlay calibration sheet (issue 21 item 2): an A4 page a window prints on plain paper
// with its overlay printer, to measure how far the printer shifts what it prints. It carries a
// 10 mm grid with 1 mm ruler ticks along the top and left edges, and crosshairs at known
// positions; the window measures where the centre crosshair landed, and the difference to
// CalibrationCentre is the offset stored on the organisation (certseal.Org.PrintOffsetX/Y).

// CalibrationCentre is the centre crosshair of the calibration sheet, in mm from the top-left
// corner of the A4 page.
var CalibrationCentre = [2]float64{105, 148.5}

// CalibrationMarks are the sheet's crosshairs (the centre first), in mm from the top-left corner.
var CalibrationMarks = [][2]float64{CalibrationCentre, {20, 20}, {190, 20}, {20, 277}, {190, 277}}

// CalibrationPlan lays out the calibration sheet, dated created, for the organisation named
// org (printed in its heading). It returns an error with code EInternal if the font does not
// load.
func CalibrationPlan(org string, created time.Time) (*Plan, error) {
	font, err := loadFont()
	if err != nil {
		return nil, certseal.Errorf(certseal.EInternal, "字库加载失败").WithDetail("reason", err.Error())
	}
	const w, h = 210.0, 297.0
	p := &Plan{Width: w, Height: h, Title: "套打校准页", Creator: "certseal calibration", Producer: "certseal", Created: created, font: font}
	grey := [3]int{190, 190, 190}
	dark := [3]int{60, 60, 60}
	red := [3]int{200, 16, 46}
	line := func(x1, y1, x2, y2, lw float64, c [3]int) {
		p.Shapes = append(p.Shapes, Shape{Kind: ShapeLine, X: x1, Y: y1, X2: x2, Y2: y2, LineWidth: lw, Color: c})
	}
	for x := 10.0; x < w; x += 10 {
		line(x, 0, x, h, 0.1, grey)
	}
	for y := 10.0; y < h; y += 10 {
		line(0, y, w, y, 0.1, grey)
	}
	// Ruler ticks: every mm along the top and left edges, longer at 5 and 10 mm.
	tick := func(i int) float64 {
		switch {
		case i%10 == 0:
			return 6
		case i%5 == 0:
			return 4
		}
		return 2
	}
	for i := 1; float64(i) < w; i++ {
		line(float64(i), 0, float64(i), tick(i), 0.15, dark)
	}
	for i := 1; float64(i) < h; i++ {
		line(0, float64(i), tick(i), float64(i), 0.15, dark)
	}
	text := func(x, y, size float64, s string, c [3]int) {
		p.Runs = append(p.Runs, TextRun{X: x, Y: y, Size: size, Text: s, Color: c})
	}
	for x := 10; x < 210; x += 10 {
		if x%20 == 0 {
			text(float64(x)+0.6, 9.5, 6, fmt.Sprint(x), dark)
		}
	}
	for y := 20; y < 297; y += 20 {
		text(7, float64(y)+1, 6, fmt.Sprint(y), dark)
	}
	for _, m := range CalibrationMarks {
		x, y := m[0], m[1]
		line(x-8, y, x+8, y, 0.25, red)
		line(x, y-8, x, y+8, 0.25, red)
		k := 3 * kappa
		p.Shapes = append(p.Shapes, Shape{Kind: ShapePath, Color: red, LineWidth: 0.2, Path: []PathSeg{
			{Op: MoveTo, Pts: [3][2]float64{{x + 3, y}}},
			{Op: CurveTo, Pts: [3][2]float64{{x + 3, y - k}, {x + k, y - 3}, {x, y - 3}}},
			{Op: CurveTo, Pts: [3][2]float64{{x - k, y - 3}, {x - 3, y - k}, {x - 3, y}}},
			{Op: CurveTo, Pts: [3][2]float64{{x - 3, y + k}, {x - k, y + 3}, {x, y + 3}}},
			{Op: CurveTo, Pts: [3][2]float64{{x + k, y + 3}, {x + 3, y + k}, {x + 3, y}}},
		}})
		label := fmt.Sprintf("x %g  y %g 毫米", x, y)
		lx := x + 4
		if x > w/2+10 {
			lx = x - 4 - font.textWidth(label)*8*ptToMM
		}
		text(lx, y-4, 8, label, red)
	}
	lines := []string{
		"套打校准页（" + org + "）",
		"1. 用套打所用的打印机和纸盒，在普通A4纸上打印本页，打印设置选“实际大小”（不要选“适合页面”或缩放）。",
		"2. 用直尺量出中心十字的交点到纸张左边和上边的距离（毫米），填入系统的“套打校准”页面。",
		"3. 系统按与应有位置（左105毫米、上148.5毫米）的差计算偏移，今后套打自动反向补偿。",
	}
	y := 40.0
	for i, l := range lines {
		size := 9.0
		if i == 0 {
			size = 14
		}
		for _, part := range font.breakLines(l, 150/(size*ptToMM)) {
			text(30, y, size, part, dark)
			y += size * ptToMM * 1.5
		}
		y += 1.5
	}
	for _, r := range p.Runs {
		for _, c := range r.Text {
			if !font.covers(c) {
				return nil, certseal.Errorf(certseal.EInvalid, "机构名称含有字库不支持的字符“%c”", c)
			}
		}
	}
	return p, nil
}

// CalibrationOffset returns the offset to store on the organisation from where the centre
// crosshair landed on the printed sheet (measured from the paper's left and top edges, mm): the
// difference to where it belongs, with the sign that makes the overlay print shift back. It
// returns an EInvalid *certseal.Error, in Chinese, for a measurement more than 20 mm off (a
// page printed scaled, or the wrong crosshair measured).
func CalibrationOffset(measuredX, measuredY float64) (x, y float64, err error) {
	x = CalibrationCentre[0] - measuredX
	y = CalibrationCentre[1] - measuredY
	if !(x >= -20 && x <= 20 && y >= -20 && y <= 20) {
		return 0, 0, certseal.Errorf(certseal.EInvalid, "量得的位置与应有位置（左105毫米、上148.5毫米）相差超过20毫米：请确认打印时选了“实际大小”，并量的是中心十字").WithDetail("field", "measured_x")
	}
	round := func(v float64) float64 { return float64(int64(v*10+signHalf(v))) / 10 }
	return round(x), round(y), nil
}

func signHalf(v float64) float64 {
	if v < 0 {
		return -0.5
	}
	return 0.5
}
