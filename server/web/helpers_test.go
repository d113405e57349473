package web_test

import (
	"regexp"
	"testing"

	"certseal/cmd/app/testenv"
	"certseal/internal/fixtures"
)

var pathVar = regexp.MustCompile(`\{[^}]+\}`)

// fixture is one record of the repository's testdata/food-licence-samples.json.
type fixture = fixtures.Food

func foodFixtures(t testing.TB) []fixture { return fixtures.FoodRecords(t) }

// The shared request and sheet helpers of the end-to-end tests (cmd/app/testenv).
var (
	issueRequest = testenv.IssueRequest
	sealOf       = testenv.SealOf
	issue        = testenv.Issue
	batchColumns = testenv.BatchColumns
	batchRows    = testenv.BatchRows
	csvOf        = testenv.CSV
	waitFor      = testenv.WaitFor
	pdfText      = testenv.PDFText
)
