package catalogue

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"certseal"
	"certseal/internal/sheet"
)

// ImportFormat is the format field of a JSON catalogue file.
const ImportFormat = "certseal-catalogue/1"

// Limits on a catalogue import, also in the OpenAPI document and the README.
const (
	MaxImportFile    = 8 << 20 // bytes of the uploaded file
	MaxImportEntries = 2000    // items and licence types in one file
)

var importLimits = sheet.Limits{Rows: 4 * MaxImportEntries, Cols: 50, Cell: MaxLegalBasisLen, Unzipped: 4 * MaxImportFile,
	XMLInMemory: MaxImportFile, Lines: 5 * 4 * MaxImportEntries, Cells: 4 * MaxImportEntries * 50, What: "一个目录文件"}

// ImportItem is a catalogue item as the provincial catalogue (事项目录) publishes it: only the
// fields that are the same at every level. The city's own fields (handling organisation,
// transferred, claimed) are never imported.
type ImportItem struct {
	Code       string    `json:"code"`
	Name       string    `json:"name"`
	LegalBasis string    `json:"legal_basis"`
	ItemType   string    `json:"item_type"`
	Level      string    `json:"level"`
	SubItems   []SubItem `json:"sub_items,omitempty"`
	row        int
}

// ImportType is a licence type as the provincial licence type list publishes it. The supply
// channel and the printed serial's format are read for a new type only (electronic, no serial,
// when not given); the city's own fields (responsible department, template, number pattern,
// format) are never imported.
type ImportType struct {
	Code              string     `json:"code"`
	Name              string     `json:"name"`
	DefinerName       string     `json:"definer_name"`
	HolderKind        HolderKind `json:"holder_kind"`
	MinValidityMonths int        `json:"min_validity_months"`
	MaxValidityMonths int        `json:"max_validity_months"`
	Channel           Channel    `json:"channel,omitempty"`
	SerialPrefix      string     `json:"serial_prefix,omitempty"`
	SerialWidth       int        `json:"serial_width,omitempty"`
	row               int
}

// Import is a parsed catalogue file: items, licence types, or both (JSON), and the SHA-256 of
// the file.
type Import struct {
	Items  []ImportItem
	Types  []ImportType
	SHA256 string
}

type importJSON struct {
	Format string       `json:"format"`
	Items  []ImportItem `json:"items"`
	Types  []ImportType `json:"types"`
}

func rowErr(row int, err error) error {
	if row == 0 {
		return err
	}
	return certseal.Errorf(certseal.ErrorCode(err), "第%d行：%s", row, certseal.ErrorMessage(err)).WithDetail("row", strconv.Itoa(row))
}

// ParseImport reads a catalogue file: JSON ({"format":"certseal-catalogue/1","items":[…],
// "types":[…]}) or a CSV/XLSX table of items (a 事项编码 column) or of licence types (a
// 证照类型代码 column), one item per row or one row per sub-item (子项编码, 子项名称) with the
// item's own cells repeated. Every entry is validated as CreateItem and CreateType would. It
// runs in time linear in the file's size and returns an *certseal.Error: ETooLarge for a file
// over MaxImportFile bytes or MaxImportEntries entries (or the table limits), EInvalid naming
// the first bad row or field.
func ParseImport(name string, data []byte) (*Import, error) {
	if len(data) > MaxImportFile {
		return nil, certseal.Errorf(certseal.ETooLarge, "目录文件超过 %d MB 上限", MaxImportFile>>20)
	}
	if len(data) == 0 {
		return nil, certseal.Errorf(certseal.EInvalid, "上传的文件为空")
	}
	var im *Import
	var err error
	ext := strings.ToLower(path.Ext(name))
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	if ext == ".json" || (ext != ".csv" && ext != ".xlsx" && len(trimmed) > 0 && trimmed[0] == '{') {
		im, err = parseJSON(trimmed)
	} else {
		im, err = parseTable(name, data)
	}
	if err != nil {
		return nil, err
	}
	if len(im.Items)+len(im.Types) == 0 {
		return nil, certseal.Errorf(certseal.EInvalid, "目录文件中没有事项，也没有证照类型")
	}
	if len(im.Items)+len(im.Types) > MaxImportEntries {
		return nil, certseal.Errorf(certseal.ETooLarge, "一个目录文件最多%d个事项和证照类型，请拆分文件", MaxImportEntries)
	}
	if err := im.validate(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	im.SHA256 = hex.EncodeToString(sum[:])
	return im, nil
}

func parseJSON(data []byte) (*Import, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f importJSON
	if err := dec.Decode(&f); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, certseal.Errorf(certseal.EInvalid, "JSON 字段 %s 的类型不对", te.Field)
		}
		if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
			return nil, certseal.Errorf(certseal.EInvalid, "JSON 中有未知字段 %s（可导入的字段见 README）", strings.TrimPrefix(msg, "json: unknown field "))
		}
		return nil, certseal.Errorf(certseal.EInvalid, "无法解析 JSON 目录文件：%v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, certseal.Errorf(certseal.EInvalid, "JSON 目录文件在结尾之后还有内容")
	}
	if f.Format != ImportFormat {
		return nil, certseal.Errorf(certseal.EInvalid, "JSON 目录文件的 format 应为 %q，实际为 %q", ImportFormat, f.Format)
	}
	return &Import{Items: f.Items, Types: f.Types}, nil
}

// column names a table column may carry, first the Chinese one.
var (
	colItemCode   = []string{"事项编码", "code"}
	colItemName   = []string{"事项名称", "name"}
	colLegalBasis = []string{"设定依据", "legal_basis"}
	colItemType   = []string{"事项类型", "item_type"}
	colLevel      = []string{"事项层级", "level"}
	colSubCode    = []string{"子项编码", "sub_item_code"}
	colSubName    = []string{"子项名称", "sub_item_name"}
	colTypeCode   = []string{"证照类型代码", "type_code"}
	colTypeName   = []string{"证照类型名称", "type_name"}
	colDefiner    = []string{"定义机构", "定义机构名称", "definer_name"}
	colHolderKind = []string{"持证主体类型", "holder_kind"}
	colMinMonths  = []string{"最短有效期（月）", "最短有效期(月)", "min_validity_months"}
	colMaxMonths  = []string{"最长有效期（月）", "最长有效期(月)", "max_validity_months"}
	colChannel    = []string{"供应渠道", "channel"}
	colPrefix     = []string{"印制编号前缀", "serial_prefix"}
	colWidth      = []string{"印制编号位数", "serial_width"}
)

func colIndex(header []string, names []string) int {
	for i, h := range header {
		for _, n := range names {
			if strings.EqualFold(h, n) {
				return i
			}
		}
	}
	return -1
}

// levelNames maps the level column's Chinese names to Levels.
var levelNames = map[string]string{"国家级": "national", "省级": "provincial", "市级": "city", "县级": "county"}

// holderNames maps the holder kind column's Chinese names to the kinds.
var holderNames = map[string]HolderKind{"自然人": HolderPerson, "法人": HolderEntity, "法人和其他组织": HolderEntity, "不限": HolderAny}

func parseTable(name string, data []byte) (*Import, error) {
	t, err := sheet.Read(name, data, importLimits)
	if err != nil {
		return nil, err
	}
	col := func(names []string) int { return colIndex(t.Header, names) }
	im := &Import{}
	switch {
	case col(colItemCode) >= 0:
		need := []([]string){colItemCode, colItemName, colItemType, colLevel}
		for _, n := range need {
			if col(n) < 0 {
				return nil, certseal.Errorf(certseal.EInvalid, "事项目录缺少“%s”列（表头：%s）", n[0], strings.Join(t.Header, "、"))
			}
		}
		cCode, cName, cBasis, cType, cLevel, cSub, cSubName := col(colItemCode), col(colItemName), col(colLegalBasis), col(colItemType), col(colLevel), col(colSubCode), col(colSubName)
		at := map[string]int{}
		for _, r := range t.Rows {
			lv := r.Cell(cLevel)
			if l, ok := levelNames[lv]; ok {
				lv = l
			}
			it := ImportItem{Code: r.Cell(cCode), Name: r.Cell(cName), LegalBasis: r.Cell(cBasis), ItemType: r.Cell(cType), Level: lv, row: r.Number}
			i, seen := at[it.Code]
			if !seen {
				at[it.Code] = len(im.Items)
				im.Items = append(im.Items, it)
				i = len(im.Items) - 1
			} else if p := im.Items[i]; p.Name != it.Name || p.LegalBasis != it.LegalBasis || p.ItemType != it.ItemType || p.Level != it.Level {
				return nil, certseal.Errorf(certseal.EInvalid, "第%d行：事项 %s 的名称、设定依据、类型或层级与第%d行不同", r.Number, it.Code, p.row).WithDetail("row", strconv.Itoa(r.Number))
			}
			if sc := r.Cell(cSub); sc != "" {
				im.Items[i].SubItems = append(im.Items[i].SubItems, SubItem{Code: sc, Name: r.Cell(cSubName)})
			} else if seen {
				return nil, certseal.Errorf(certseal.EInvalid, "第%d行：事项编码 %s 重复（第%d行）", r.Number, it.Code, im.Items[i].row).WithDetail("row", strconv.Itoa(r.Number))
			}
		}
	case col(colTypeCode) >= 0:
		for _, n := range [][]string{colTypeCode, colTypeName, colDefiner, colHolderKind} {
			if col(n) < 0 {
				return nil, certseal.Errorf(certseal.EInvalid, "证照类型目录缺少“%s”列（表头：%s）", n[0], strings.Join(t.Header, "、"))
			}
		}
		cCode, cName, cDef, cHolder, cMin, cMax, cChan, cPre, cWidth := col(colTypeCode), col(colTypeName), col(colDefiner), col(colHolderKind), col(colMinMonths), col(colMaxMonths), col(colChannel), col(colPrefix), col(colWidth)
		num := func(r *sheet.UploadRow, c int, what string) (int, error) {
			s := r.Cell(c)
			if s == "" {
				return 0, nil
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n > 100000 {
				return 0, certseal.Errorf(certseal.EInvalid, "第%d行：%s “%s”应为非负整数", r.Number, what, s).WithDetail("row", strconv.Itoa(r.Number))
			}
			return n, nil
		}
		for i := range t.Rows {
			r := &t.Rows[i]
			hk := HolderKind(r.Cell(cHolder))
			if k, ok := holderNames[string(hk)]; ok {
				hk = k
			}
			ch := Channel(r.Cell(cChan))
			for _, c := range Channels {
				if string(ch) == c.Label() {
					ch = c
				}
			}
			ty := ImportType{Code: strings.ToUpper(r.Cell(cCode)), Name: r.Cell(cName), DefinerName: r.Cell(cDef), HolderKind: hk, Channel: ch, SerialPrefix: r.Cell(cPre), row: r.Number}
			var err error
			if ty.MinValidityMonths, err = num(r, cMin, "最短有效期"); err != nil {
				return nil, err
			}
			if ty.MaxValidityMonths, err = num(r, cMax, "最长有效期"); err != nil {
				return nil, err
			}
			if ty.SerialWidth, err = num(r, cWidth, "印制编号位数"); err != nil {
				return nil, err
			}
			im.Types = append(im.Types, ty)
		}
	default:
		return nil, certseal.Errorf(certseal.EInvalid, "无法识别的目录表：表头应含“事项编码”（事项目录）或“证照类型代码”（证照类型目录），实际为：%s", strings.Join(t.Header, "、"))
	}
	return im, nil
}

// asItem returns the item an ImportItem describes.
func (it *ImportItem) asItem() Item {
	return Item{Code: it.Code, Name: it.Name, LegalBasis: it.LegalBasis, ItemType: it.ItemType, Level: it.Level, SubItems: append([]SubItem(nil), it.SubItems...)}
}

// asType returns the licence type an ImportType describes (a new one: electronic when no
// channel is given).
func (ty *ImportType) asType() LicenceType {
	t := LicenceType{Code: ty.Code, Name: ty.Name, DefinerName: strings.TrimSpace(ty.DefinerName), HolderKind: ty.HolderKind,
		MinValidityMonths: ty.MinValidityMonths, MaxValidityMonths: ty.MaxValidityMonths, Channel: ty.Channel,
		SerialPrefix: ty.SerialPrefix, SerialWidth: ty.SerialWidth}
	if t.Channel == "" {
		t.Channel = ChannelElectronic
	}
	return t
}

// validate checks every entry as CreateItem and CreateType would, and that no code appears
// twice in the file.
func (im *Import) validate() error {
	codes := map[string]string{}
	for i := range im.Items {
		it := &im.Items[i]
		x := it.asItem()
		if err := x.Validate(); err != nil {
			return rowErr(it.row, certseal.Errorf(certseal.EInvalid, "事项 %s：%s", it.Code, certseal.ErrorMessage(err)))
		}
		it.Name = x.Name
		for _, c := range append([]string{it.Code}, subCodes(it.SubItems)...) {
			if prev, dup := codes[c]; dup {
				return rowErr(it.row, certseal.Errorf(certseal.EInvalid, "编码 %s 在文件中出现两次（事项 %s 和 %s）", c, prev, it.Code))
			}
			codes[c] = it.Code
		}
		for j := range it.SubItems {
			it.SubItems[j].Name = strings.TrimSpace(it.SubItems[j].Name)
		}
	}
	types := map[string]bool{}
	for i := range im.Types {
		ty := &im.Types[i]
		x := ty.asType()
		if err := x.Validate(); err != nil {
			return rowErr(ty.row, certseal.Errorf(certseal.EInvalid, "证照类型 %s：%s", ty.Code, certseal.ErrorMessage(err)))
		}
		ty.Name, ty.DefinerName = x.Name, x.DefinerName
		if types[ty.Code] {
			return rowErr(ty.row, certseal.Errorf(certseal.EInvalid, "证照类型代码 %s 在文件中出现两次", ty.Code))
		}
		types[ty.Code] = true
	}
	return nil
}

func subCodes(subs []SubItem) []string {
	out := make([]string, len(subs))
	for i, s := range subs {
		out[i] = s.Code
	}
	return out
}

// describe is how a field change is shown: old → new.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	}
	return fmt.Sprint(v)
}
