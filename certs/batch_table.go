package certs

import (
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"certseal/internal/sheet"
)

// Limits on a batch upload, also in the OpenAPI document.
const (
	MaxBatchFile = 20 << 20 // bytes of the uploaded CSV or XLSX
	MaxBatchRows = 10000    // data rows, not counting the header
	MaxBatchCols = 200
	MaxBatchCell = MaxValueLen
	// MaxBatchUnzipped bounds an XLSX's unzipped size (the sum over its parts, as its zip
	// directory says and as the zip reader enforces): a few times MaxBatchFile. A larger one is
	// refused before anything is extracted.
	MaxBatchUnzipped = 4 * MaxBatchFile
	// MaxBatchXMLInMemory is the largest XLSX part unzipped into memory; a larger one (up to
	// MaxBatchUnzipped) goes through a temporary file.
	MaxBatchXMLInMemory = 16 << 20
	// MaxBatchLines bounds the rows of a table, blank ones included (an XLSX row number, a CSV
	// line).
	MaxBatchLines = 5 * MaxBatchRows
	// MaxBatchCells bounds the cells of a table, blank ones included.
	MaxBatchCells = MaxBatchRows * MaxBatchCols
)

// batchLimits are the limits above, for sheet.Read.
var batchLimits = sheet.Limits{Rows: MaxBatchRows, Cols: MaxBatchCols, Cell: MaxBatchCell, Unzipped: MaxBatchUnzipped,
	XMLInMemory: MaxBatchXMLInMemory, Lines: MaxBatchLines, Cells: MaxBatchCells, What: "一个批次"}

// Table is an uploaded sheet (internal/sheet reads it): the header (row 1) and the data rows,
// each with its row number as a spreadsheet shows it. Blank rows are left out.
type Table = sheet.Upload

// TableRow is one data row of a Table.
type TableRow = sheet.UploadRow

// ReadTable reads a CSV (UTF-8, a byte-order mark allowed) or an XLSX file (its first sheet)
// with sheet.Read. It returns an *certseal.Error with a Chinese message: EInvalid for a file it
// cannot read, an empty one, or one over MaxBatchRows rows or MaxBatchCols columns; ETooLarge
// for one over MaxBatchUnzipped unzipped, MaxBatchLines rows or MaxBatchCells cells (blank ones
// included), refused before it is extracted or parsed further.
func ReadTable(name string, data []byte) (*Table, error) { return sheet.Read(name, data, batchLimits) }

// parseBatchDate reads a date cell: 2029-04-15, 2029/4/15, 2029年4月15日, 20290415, or an Excel
// date serial number (an XLSX date cell read raw).
func parseBatchDate(s string) (string, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", "2006-1-2", "2006/1/2", "2006.1.2", "2006年1月2日", "20060102"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format(DateLayout), true
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 20000 && f < 100000 {
		if t, err := excelize.ExcelDateToTime(f, false); err == nil {
			return t.Format(DateLayout), true
		}
	}
	return "", false
}
