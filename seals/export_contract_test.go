package seals

// Hooks for the writer/scanner contract test (contract_test.go) in the external test package.

// SignPath returns which reader SignPDF uses to plan the incremental update of pdf for page:
// "fast" for the package's own scanner, "pdfcpu" for the fallback; err is the planning error.
func SignPath(pdf []byte, page int) (path string, err error) {
	_, fast, err := planUpdate(pdf, page)
	if fast {
		return "fast", err
	}
	return "pdfcpu", err
}
