package sheet

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"certseal"
)

// Limits bound an uploaded table (see Read). Every field must be positive.
type Limits struct {
	Rows int // data rows, not counting the header
	Cols int
	Cell int // bytes of one cell, times four (the cell is checked again by the caller)
	// Unzipped bounds an XLSX's unzipped size (the sum over its parts, as its zip directory
	// says and as the zip reader enforces); a larger one is refused before anything is
	// extracted. XMLInMemory is the largest XLSX part unzipped into memory; a larger one (up to
	// Unzipped) goes through a temporary file.
	Unzipped    int64
	XMLInMemory int64
	Lines       int // rows of a table, blank ones included (an XLSX row number, a CSV line)
	Cells       int // cells of a table, blank ones included
	// What names the upload in the message for too many rows ("一个批次", "一个目录文件").
	What string
}

// Upload is an uploaded sheet: the header (row 1) and the data rows, each with its row number
// as a spreadsheet shows it (the header is row 1). Blank rows are left out.
type Upload struct {
	Header []string
	Rows   []UploadRow
	lim    Limits
}

// UploadRow is one data row of an Upload.
type UploadRow struct {
	Number int
	Cells  []string
}

// Cell returns the row's cell in column i ("" past the end), trimmed.
func (r *UploadRow) Cell(i int) string {
	if i < 0 || i >= len(r.Cells) {
		return ""
	}
	return strings.TrimSpace(r.Cells[i])
}

var xlsxMagic = []byte("PK\x03\x04")

func tooLarge(format string, args ...any) error {
	return certseal.Errorf(certseal.ETooLarge, format, args...)
}

// Read reads a CSV (UTF-8, a byte-order mark allowed) or an XLSX file (its first sheet), telling
// them apart by the name's extension or, failing that, the content, within the limits l. It
// returns an *certseal.Error with a Chinese message: EInvalid for a file it cannot read, an empty
// one, one whose header repeats a name, or one over l.Rows rows or l.Cols columns; ETooLarge for
// one over l.Unzipped unzipped, l.Lines rows or l.Cells cells (blank ones included), refused
// before it is extracted or parsed further. Its time is linear in the file's size.
func Read(name string, data []byte, l Limits) (*Upload, error) {
	if len(data) == 0 {
		return nil, certseal.Errorf(certseal.EInvalid, "上传的文件为空")
	}
	ext := strings.ToLower(path.Ext(name))
	var t *Upload
	var err error
	switch {
	case ext == ".xlsx" || (ext != ".csv" && bytes.HasPrefix(data, xlsxMagic)):
		t, err = readXLSX(data, l)
	case ext == ".xls":
		return nil, certseal.Errorf(certseal.EInvalid, "不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV（UTF-8）")
	default:
		t, err = readCSV(data, l)
	}
	if err != nil {
		return nil, err
	}
	if len(t.Header) == 0 {
		return nil, certseal.Errorf(certseal.EInvalid, "文件没有表头行：第1行应为列名")
	}
	if len(t.Rows) == 0 {
		return nil, certseal.Errorf(certseal.EInvalid, "文件只有表头，没有数据行")
	}
	seen := map[string]int{}
	for i, h := range t.Header {
		t.Header[i] = strings.TrimSpace(h)
		if h := t.Header[i]; h != "" {
			if j, dup := seen[h]; dup {
				return nil, certseal.Errorf(certseal.EInvalid, "表头第%d列和第%d列同名（“%s”），请改为不同的列名", j+1, i+1, h)
			}
			seen[h] = i
		}
	}
	return t, nil
}

func (t *Upload) add(number int, cells []string) error {
	if t.Header == nil {
		if len(cells) > t.lim.Cols {
			return certseal.Errorf(certseal.EInvalid, "列数不能超过%d列", t.lim.Cols)
		}
		t.Header = cells
		return nil
	}
	blank := true
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			blank = false
			break
		}
	}
	if blank {
		return nil
	}
	if len(t.Rows) == t.lim.Rows {
		return certseal.Errorf(certseal.EInvalid, "%s最多%d行数据，请拆分文件", t.lim.What, t.lim.Rows)
	}
	if len(cells) > t.lim.Cols {
		return certseal.Errorf(certseal.EInvalid, "第%d行的列数超过%d列", number, t.lim.Cols)
	}
	for i, c := range cells {
		if len(c) > 4*t.lim.Cell {
			return certseal.Errorf(certseal.EInvalid, "第%d行第%d列的内容过长", number, i+1)
		}
	}
	t.Rows = append(t.Rows, UploadRow{Number: number, Cells: cells})
	return nil
}

func readCSV(data []byte, l Limits) (*Upload, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, certseal.Errorf(certseal.EInvalid, "CSV 文件不是 UTF-8 编码：请在 Excel 中“另存为 CSV UTF-8（逗号分隔）”后再上传")
	}
	// Bound the rows and cells before parsing: every cell ends at a comma or a line end.
	if lines := bytes.Count(data, []byte("\n")); lines > l.Lines {
		return nil, tooLarge("CSV 文件超过%d行（含空行），请拆分文件", l.Lines)
	} else if lines+bytes.Count(data, []byte(",")) > l.Cells {
		return nil, tooLarge("CSV 文件的单元格超过%d个（含空单元格），请拆分文件", l.Cells)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = false
	t := &Upload{lim: l}
	// Row numbers as a spreadsheet shows the file: blank lines (which encoding/csv skips) count,
	// a quoted cell spanning lines does not.
	n, prevEnd := 0, 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, certseal.Errorf(certseal.EInvalid, "CSV 格式错误（第%d行）：%v", pe.Line, pe.Err)
			}
			return nil, certseal.Errorf(certseal.EInvalid, "无法读取 CSV 文件")
		}
		start, _ := r.FieldPos(0)
		n += 1 + max(0, start-prevEnd-1)
		end, _ := r.FieldPos(len(rec) - 1)
		prevEnd = end + strings.Count(rec[len(rec)-1], "\n")
		if err := t.add(n, rec); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func readXLSX(data []byte, l Limits) (*Upload, error) {
	// The unzipped size, from the zip directory, before anything is extracted (archive/zip
	// refuses a part that inflates to more than its directory says).
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "无法读取 Excel 文件，请确认是 .xlsx 格式")
	}
	var unzipped uint64
	for _, e := range zr.File {
		if unzipped += e.UncompressedSize64; unzipped > uint64(l.Unzipped) {
			return nil, tooLarge("Excel 文件解压后超过 %d MB，不予读取：请删去多余的内容或拆分文件", l.Unzipped>>20)
		}
	}
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: l.Unzipped, UnzipXMLSizeLimit: l.XMLInMemory})
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "无法读取 Excel 文件，请确认是 .xlsx 格式")
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, certseal.Errorf(certseal.EInvalid, "Excel 文件中没有工作表")
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "无法读取 Excel 工作表“%s”", sheets[0])
	}
	defer rows.Close()
	t := &Upload{lim: l}
	ncells := 0
	for n := 1; rows.Next(); n++ {
		if n > l.Lines {
			return nil, tooLarge("Excel 工作表超过%d行（含空行），请拆分文件", l.Lines)
		}
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, certseal.Errorf(certseal.EInvalid, "Excel 第%d行无法读取", n)
		}
		if ncells += len(cells); ncells > l.Cells {
			return nil, tooLarge("Excel 工作表的单元格超过%d个（含空单元格），请拆分文件", l.Cells)
		}
		if t.Header == nil && len(cells) == 0 {
			continue // blank rows above the header
		}
		if err := t.add(n, cells); err != nil {
			return nil, err
		}
	}
	if err := rows.Error(); err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "无法读取 Excel 工作表“%s”", sheets[0])
	}
	return t, nil
}
