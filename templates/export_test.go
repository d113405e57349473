package templates

// Hooks for the breakdown benchmarks in the external test package.

// BenchLayout checks the values and lays the page out, without writing the PDF.
func BenchLayout(t *Template, d Document) error {
	_, err := (&Renderer{}).Layout(t, d)
	return err
}

// BenchQR encodes payload and builds the vector drawing of the QR code.
func BenchQR(payload string) ([]byte, error) { return qrPath(payload, 20, 170, 24, 210) }

// BenchPlanned lays out a document once and returns functions that run the later stages on it:
// subset builds the subset font; embed writes a minimal PDF with just that font (its five
// objects: dictionaries, /W, the compressed font, the ToUnicode CMap) and an empty page; write
// runs the whole writing stage (subset fonts, drawing, compression, output).
func BenchPlanned(t *Template, d Document) (subset func() ([]byte, error), embed func() error, write func() ([]byte, error), err error) {
	p, err := (&Renderer{producer: "certseal"}).Layout(t, d)
	if err != nil {
		return nil, nil, nil, err
	}
	runes := p.runes()
	subset = func() ([]byte, error) {
		s, err := p.font.subset(runes)
		if err != nil {
			return nil, err
		}
		return s.data, nil
	}
	sub, err := p.font.subset(runes)
	if err != nil {
		return nil, nil, nil, err
	}
	f := &pdfFont{res: "F1", name: subsetTag(runes, 0) + "+" + pdfFontName, f: p.font, sub: sub}
	embed = func() error {
		writePDF(210, 297, nil, []*pdfFont{f}, docInfo{title: "x", creator: "x", producer: "x", created: d.Created})
		return nil
	}
	write = func() ([]byte, error) { return PDFWriter{}.Write(p) }
	return subset, embed, write, nil
}
