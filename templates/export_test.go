package templates

import "github.com/jung-kurt/gofpdf"

// Hooks for the breakdown benchmarks in the external test package.

// BenchLayout checks the values and lays the page out, without gofpdf.
func BenchLayout(t *Template, d Document) error {
	_, err := (&Renderer{}).plan(t, d)
	return err
}

// BenchQR encodes payload and builds the vector drawing of the QR code.
func BenchQR(payload string) ([]byte, error) { return qrPath(payload, 20, 170, 24, 210) }

// BenchPlanned lays out a document once and returns functions that run the later stages on it:
// subset builds the subset font; addFont registers it with a fresh gofpdf document and writes
// that one-line document; write runs the whole gofpdf stage (drawing, fonts, compression,
// output).
func BenchPlanned(t *Template, d Document) (subset func() ([]byte, error), addFont func() error, write func() ([]byte, error), err error) {
	p, err := (&Renderer{}).plan(t, d)
	if err != nil {
		return nil, nil, nil, err
	}
	runes := p.runes()
	subset = func() ([]byte, error) { return p.font.subset(runes) }
	sub, err := subset()
	if err != nil {
		return nil, nil, nil, err
	}
	addFont = func() error {
		pdf := gofpdf.New("P", "mm", "A4", "")
		pdf.AddPage()
		pdf.AddUTF8FontFromBytes(pdfFamily, "", append([]byte(nil), sub...))
		pdf.SetFont(pdfFamily, "", 12)
		pdf.Text(10, 10, string(runes))
		return pdf.Output(discard{})
	}
	write = func() ([]byte, error) { return p.write("certseal", d) }
	return subset, addFont, write, nil
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }
