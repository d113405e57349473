package seals

// Signing and verifying OFD packages (GB/T 33190-2016 §18, GB/T 38540-2020 §8): SignOFD adds
//
//	OFD.xml                          DocBody/Signatures -> Doc_0/Signs/Signatures.xml
//	Doc_0/Signs/Signatures.xml       MaxSignId and one Signature (Type Seal)
//	Doc_0/Signs/Sign_0/Signature.xml SignedInfo (Provider, SignatureMethod, SignatureDateTime,
//	                                 References: the SM3 digest of every other file of the
//	                                 package, StampAnnot) and SignedValue
//	Doc_0/Signs/Sign_0/SignedValue.dat the DER SES_Signature over SM3(Signature.xml)
//
// VerifyOFD checks those digests, names every file added, removed or changed, and hands the
// SES_Signature with SM3(Signature.xml) to the caller's SES verifier. The package is outside
// input: it is read with limits on its size, its entries and their sizes, and a deadline.

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/klauspost/compress/flate"

	"certseal"
)

// The identifiers a signed OFD names.
const (
	// OFDSignatureMethod is SM2 with SM3 (GB/T 33560), the SignatureMethod of SignedInfo.
	OFDSignatureMethod = "1.2.156.10197.1.501"
	// OFDCheckMethod is SM3 (GB/T 33560), the CheckMethod of the References.
	OFDCheckMethod = "1.2.156.10197.1.401"
	// OFDProvider is the ProviderName of SignedInfo.
	OFDProvider = "certseal"
	// OFDProviderVersion is the Version of the Provider.
	OFDProviderVersion = "1.0"
)

// Limits on an OFD package read by SignOFD and VerifyOFD.
const (
	MaxOFDSize      = 32 << 20 // the package
	MaxOFDEntries   = 1024     // files in it
	MaxOFDFileSize  = 32 << 20 // one file, uncompressed
	MaxOFDTotalSize = 64 << 20 // all files, uncompressed
	maxOFDXMLSize   = 4 << 20  // an XML part the signer or verifier parses
	maxOFDSigns     = 16       // signatures in Signatures.xml
)

// OFDSignOptions says how SignOFD signs: the SES signer and where the seal goes.
type OFDSignOptions struct {
	// Sign returns the DER SES_Signature (GB/T 38540) whose dataHash is dataHash, the SM3
	// digest of Signature.xml: Signing.SignSES with the time and property info bound in.
	Sign func(dataHash []byte) ([]byte, error)
	// Time is the SignatureDateTime; it must not be zero.
	Time time.Time
	// Page is the 1-based page the seal is stamped on (0: the first).
	Page int
	// X, Y are the seal's centre and Diameter its size, in mm from the page's top-left corner
	// (templates.SealPlacement). The StampAnnot's Boundary is the seal's square.
	X, Y, Diameter float64
}

// ofdNS is the OFD namespace (templates.OFDNamespace; seals does not import templates).
const ofdNS = "http://www.ofdspec.org/2016"

// ofdFile is one entry of a package read by readOFD.
type ofdFile struct {
	zf   *zip.File
	name string
	data []byte
}

// ofdPackage is a package read with the limits above; files are in ZIP order.
type ofdPackage struct {
	files  []ofdFile
	byName map[string]int
}

func (p *ofdPackage) get(name string) ([]byte, bool) {
	i, ok := p.byName[name]
	if !ok {
		return nil, false
	}
	return p.files[i].data, true
}

func ofdInvalid(format string, args ...any) *certseal.Error {
	return certseal.Errorf(certseal.EInvalid, format, args...)
}

// errOFDDeadline is returned when the context ends while a package is read.
func errOFDDeadline(err error) error {
	return certseal.Errorf(certseal.EUnavailable, "OFD文件处理超时").WithDetail("reason", err.Error())
}

// readOFD reads every file of the ZIP pkg, refusing what is too large, duplicate or unsafe
// names, and entries whose data exceed their declared size. Each byte is read once.
func readOFD(ctx context.Context, pkg []byte) (*ofdPackage, error) {
	if len(pkg) > MaxOFDSize {
		return nil, ofdInvalid("OFD文件过大（超过%dMB）", MaxOFDSize>>20)
	}
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		return nil, ofdInvalid("不是有效的OFD文件（ZIP结构损坏）").WithDetail("reason", err.Error())
	}
	if len(zr.File) > MaxOFDEntries {
		return nil, ofdInvalid("OFD文件包含的文件过多（%d个，最多%d个）", len(zr.File), MaxOFDEntries)
	}
	p := &ofdPackage{byName: make(map[string]int, len(zr.File))}
	var total uint64
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return nil, errOFDDeadline(err)
		}
		name := f.Name
		if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || path.Clean(name) != name ||
			name == ".." || strings.HasPrefix(name, "../") || strings.HasSuffix(name, "/") {
			if strings.HasSuffix(name, "/") && path.Clean(name) == strings.TrimSuffix(name, "/") && f.UncompressedSize64 == 0 {
				continue // a directory entry
			}
			return nil, ofdInvalid("OFD文件包含非法的文件名").WithDetail("file", name)
		}
		if _, dup := p.byName[name]; dup {
			return nil, ofdInvalid("OFD文件包含重复的文件").WithDetail("file", name)
		}
		if f.UncompressedSize64 > MaxOFDFileSize {
			return nil, ofdInvalid("OFD文件中的文件过大").WithDetail("file", name)
		}
		total += f.UncompressedSize64
		if total > MaxOFDTotalSize {
			return nil, ofdInvalid("OFD文件解压后过大（超过%dMB）", MaxOFDTotalSize>>20)
		}
		data, err := readZipEntry(ctx, f)
		if err != nil {
			return nil, err
		}
		p.byName[name] = len(p.files)
		p.files = append(p.files, ofdFile{zf: f, name: name, data: data})
	}
	return p, nil
}

// readZipEntry reads f, at most its declared size, checking ctx between chunks.
func readZipEntry(ctx context.Context, f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, ofdInvalid("OFD文件中的文件无法读取").WithDetail("file", f.Name).WithDetail("reason", err.Error())
	}
	defer rc.Close()
	want := int(f.UncompressedSize64)
	buf := make([]byte, 0, min(want, 1<<20)+1)
	lr := io.LimitReader(rc, int64(want)+1)
	for {
		if err := ctx.Err(); err != nil {
			return nil, errOFDDeadline(err)
		}
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(max(len(buf), 64<<10), want+1-len(buf)))
		}
		n, err := lr.Read(buf[len(buf):min(cap(buf), len(buf)+256<<10)])
		buf = buf[:len(buf)+n]
		if len(buf) > want {
			return nil, ofdInvalid("OFD文件中的文件大于其声明的大小").WithDetail("file", f.Name)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, ofdInvalid("OFD文件中的文件无法读取").WithDetail("file", f.Name).WithDetail("reason", err.Error())
		}
	}
	if len(buf) != want {
		return nil, ofdInvalid("OFD文件中的文件小于其声明的大小").WithDetail("file", f.Name)
	}
	return buf, nil
}

// ofdRoot is the part of OFD.xml the signer and verifier read.
type ofdRoot struct {
	XMLName xml.Name `xml:"http://www.ofdspec.org/2016 OFD"`
	DocBody []struct {
		DocInfo struct {
			DocID      string `xml:"http://www.ofdspec.org/2016 DocID"`
			CustomData []struct {
				Name  string `xml:"Name,attr"`
				Value string `xml:",chardata"`
			} `xml:"http://www.ofdspec.org/2016 CustomDatas>CustomData"`
		} `xml:"http://www.ofdspec.org/2016 DocInfo"`
		DocRoot    string `xml:"http://www.ofdspec.org/2016 DocRoot"`
		Signatures string `xml:"http://www.ofdspec.org/2016 Signatures"`
	} `xml:"http://www.ofdspec.org/2016 DocBody"`
}

// parseXMLPart decodes the XML part name of p into v, refusing a missing or oversized part.
func parseXMLPart(p *ofdPackage, name string, v any) ([]byte, error) {
	data, ok := p.get(name)
	if !ok {
		return nil, ofdInvalid("OFD文件缺少%s", name).WithDetail("file", name)
	}
	if len(data) > maxOFDXMLSize {
		return nil, ofdInvalid("OFD文件中的%s过大", name).WithDetail("file", name)
	}
	if err := xml.Unmarshal(data, v); err != nil {
		return nil, ofdInvalid("OFD文件中的%s不是有效的XML", name).WithDetail("file", name).WithDetail("reason", err.Error())
	}
	return data, nil
}

// resolve returns the package path of loc, an absolute path (leading "/") or one relative to
// the folder dir, or "" if it leaves the package.
func resolve(dir, loc string) string {
	loc = strings.TrimSpace(loc)
	if loc == "" {
		return ""
	}
	var p string
	if strings.HasPrefix(loc, "/") {
		p = path.Clean(loc[1:])
	} else {
		p = path.Clean(path.Join(dir, loc))
	}
	if p == "." || p == ".." || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/") {
		return ""
	}
	return p
}

// ofdDocument is the part of Document.xml that names the pages.
type ofdDocument struct {
	Pages []struct {
		ID      string `xml:"ID,attr"`
		BaseLoc string `xml:"BaseLoc,attr"`
	} `xml:"http://www.ofdspec.org/2016 Pages>Page"`
}

// SignOFD signs the unsigned OFD package pkg with one seal: it adds Signatures.xml, the
// signature's Signature.xml (the SM3 digests of every file of the package, the stamp's page
// and boundary) and SignedValue.dat (what o.Sign returns for SM3 of Signature.xml), and names
// the signatures in OFD.xml. Files it does not change keep their compressed bytes. It returns
// an error with code EInvalid when the package is not a readable OFD within the limits, when
// the page does not exist, or when the options are incomplete; EConflict when the package is
// already signed; and o.Sign's error, wrapped, when signing fails.
func SignOFD(pkg []byte, o OFDSignOptions) ([]byte, error) {
	if o.Sign == nil || o.Time.IsZero() || !(o.Diameter > 0) {
		return nil, ofdInvalid("OFD签章参数不完整（签名函数、时间、印章尺寸）")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := readOFD(ctx, pkg)
	if err != nil {
		return nil, err
	}
	var root ofdRoot
	top, err := parseXMLPart(p, "OFD.xml", &root)
	if err != nil {
		return nil, err
	}
	if len(root.DocBody) != 1 {
		return nil, ofdInvalid("OFD文件应当只有一个文档（DocBody）")
	}
	if root.DocBody[0].Signatures != "" {
		return nil, certseal.Errorf(certseal.EConflict, "OFD文件已经签章")
	}
	docRoot := resolve("", root.DocBody[0].DocRoot)
	var doc ofdDocument
	if _, err := parseXMLPart(p, docRoot, &doc); err != nil {
		return nil, err
	}
	page := o.Page
	if page == 0 {
		page = 1
	}
	if page < 1 || page > len(doc.Pages) {
		return nil, ofdInvalid("OFD文件没有第%d页", page)
	}
	pageID := doc.Pages[page-1].ID
	docDir := path.Dir(docRoot)
	signsDir := path.Join(docDir, "Signs")
	signaturesName := path.Join(signsDir, "Signatures.xml")
	signatureName := path.Join(signsDir, "Sign_0", "Signature.xml")
	valueName := path.Join(signsDir, "Sign_0", "SignedValue.dat")
	for _, n := range []string{signaturesName, signatureName, valueName} {
		if _, ok := p.get(n); ok {
			return nil, certseal.Errorf(certseal.EConflict, "OFD文件已经包含签章文件").WithDetail("file", n)
		}
	}

	const endBody = "</ofd:DocBody>"
	if bytes.Count(top, []byte(endBody)) != 1 {
		return nil, ofdInvalid("OFD.xml的结构不受支持（需要一个%s）", endBody)
	}
	newTop := bytes.Replace(top, []byte(endBody), []byte("<ofd:Signatures>"+signaturesName+"</ofd:Signatures>"+endBody), 1)

	var sigs bytes.Buffer
	sigs.WriteString(xml.Header[:len(xml.Header)-1])
	sigs.WriteString(`<ofd:Signatures xmlns:ofd="` + ofdNS + `"><ofd:MaxSignId>1</ofd:MaxSignId>`)
	sigs.WriteString(`<ofd:Signature ID="1" Type="Seal" BaseLoc="/` + signatureName + `"/></ofd:Signatures>`)

	// The files the signature protects: everything but its own Signature.xml and value.
	type protected struct {
		name string
		data []byte
	}
	var refs []protected
	for _, f := range p.files {
		data := f.data
		if f.name == "OFD.xml" {
			data = newTop
		}
		refs = append(refs, protected{f.name, data})
	}
	refs = append(refs, protected{signaturesName, sigs.Bytes()})

	var si bytes.Buffer
	si.WriteString(xml.Header[:len(xml.Header)-1])
	si.WriteString(`<ofd:Signature xmlns:ofd="` + ofdNS + `"><ofd:SignedInfo>`)
	si.WriteString(`<ofd:Provider ProviderName="` + OFDProvider + `" Version="` + OFDProviderVersion + `" Company="` + OFDProvider + `"/>`)
	si.WriteString(`<ofd:SignatureMethod>` + OFDSignatureMethod + `</ofd:SignatureMethod>`)
	si.WriteString(`<ofd:SignatureDateTime>` + o.Time.UTC().Format("20060102150405Z") + `</ofd:SignatureDateTime>`)
	si.WriteString(`<ofd:References CheckMethod="` + OFDCheckMethod + `">`)
	for _, r := range refs {
		sum := sm3.Sum(r.data)
		si.WriteString(`<ofd:Reference FileRef="/`)
		xml.EscapeText(&si, []byte(r.name)) //nolint:errcheck // bytes.Buffer never fails
		si.WriteString(`"><ofd:CheckValue>` + base64.StdEncoding.EncodeToString(sum[:]) + `</ofd:CheckValue></ofd:Reference>`)
	}
	si.WriteString(`</ofd:References>`)
	r := o.Diameter / 2
	si.WriteString(`<ofd:StampAnnot ID="1" PageRef="`)
	xml.EscapeText(&si, []byte(pageID)) //nolint:errcheck
	si.WriteString(`" Boundary="` + mm(o.X-r) + " " + mm(o.Y-r) + " " + mm(o.Diameter) + " " + mm(o.Diameter) + `"/>`)
	si.WriteString(`</ofd:SignedInfo><ofd:SignedValue>/` + valueName + `</ofd:SignedValue></ofd:Signature>`)

	dataHash := sm3.Sum(si.Bytes())
	value, err := o.Sign(dataHash[:])
	if err != nil {
		return nil, fmt.Errorf("seals: sign OFD: %w", err)
	}

	var out bytes.Buffer
	out.Grow(len(pkg) + si.Len() + len(value) + 4096)
	zw := zip.NewWriter(&out)
	zw.RegisterCompressor(zip.Deflate, newPooledFlate)
	mod := o.Time.UTC().Truncate(time.Second)
	add := func(name string, data []byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: mod})
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	for _, f := range p.files {
		var err error
		if f.name == "OFD.xml" {
			err = add(f.name, newTop)
		} else {
			err = zw.Copy(f.zf)
		}
		if err != nil {
			return nil, certseal.Errorf(certseal.EInternal, "OFD文件写入失败").WithDetail("reason", err.Error())
		}
	}
	for _, e := range []ofdFile{{name: signaturesName, data: sigs.Bytes()}, {name: signatureName, data: si.Bytes()}, {name: valueName, data: value}} {
		if err := add(e.name, e.data); err != nil {
			return nil, certseal.Errorf(certseal.EInternal, "OFD文件写入失败").WithDetail("reason", err.Error())
		}
	}
	if err := zw.Close(); err != nil {
		return nil, certseal.Errorf(certseal.EInternal, "OFD文件写入失败").WithDetail("reason", err.Error())
	}
	return out.Bytes(), nil
}

// mm formats a length in mm with at most 3 decimals.
func mm(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}

// OFDVerdict is what VerifyOFD found about one signature of an OFD package; V is what the
// caller's SES verifier returns.
type OFDVerdict[V any] struct {
	// Signature is the package path of the signature's Signature.xml, SignedValue that of its
	// SignedValue.dat.
	Signature, SignedValue string
	// Provider, Method and DateTime are SignedInfo's ProviderName, SignatureMethod and
	// SignatureDateTime as written.
	Provider, Method, DateTime string
	// PageRef and Boundary are the StampAnnot's page ID and box (mm: x, y, w, h).
	PageRef  string
	Boundary [4]float64
	// References is the number of files the signature protects.
	References int
	// Changed names the protected files whose SM3 digest differs, Missing those no longer in
	// the package, Added the files of the package that no signature protects (other than the
	// signatures' own Signature.xml and SignedValue.dat). All empty: the package is intact.
	Changed, Missing, Added []string
	// DataHash is SM3 of Signature.xml, which the SES_Signature must sign.
	DataHash []byte
	// DocID and CustomData are OFD.xml's DocInfo/DocID and its CustomDatas by Name (the licence
	// metadata templates.OFDWriter writes: 证照标识, 证照编号, …). OFD.xml is a protected file,
	// so they are the signed values when the package is intact.
	DocID      string
	CustomData map[string]string
	// SES is the SES verifier's verdict on SignedValue.dat and DataHash, SESErr its error.
	SES    V
	SESErr error
	// Problems lists, in Chinese, everything that is wrong; empty when the package is intact
	// and the SES verifier returned no error.
	Problems []string
}

// Intact reports whether every protected file is unchanged and no file was added or removed.
func (v *OFDVerdict[V]) Intact() bool {
	return len(v.Changed) == 0 && len(v.Missing) == 0 && len(v.Added) == 0
}

// ofdSignatures is Signatures.xml.
type ofdSignatures struct {
	XMLName   xml.Name `xml:"http://www.ofdspec.org/2016 Signatures"`
	Signature []struct {
		ID      string `xml:"ID,attr"`
		BaseLoc string `xml:"BaseLoc,attr"`
	} `xml:"http://www.ofdspec.org/2016 Signature"`
}

// ofdSignature is Signature.xml.
type ofdSignature struct {
	XMLName    xml.Name `xml:"http://www.ofdspec.org/2016 Signature"`
	SignedInfo struct {
		Provider struct {
			Name string `xml:"ProviderName,attr"`
		} `xml:"http://www.ofdspec.org/2016 Provider"`
		Method     string `xml:"http://www.ofdspec.org/2016 SignatureMethod"`
		DateTime   string `xml:"http://www.ofdspec.org/2016 SignatureDateTime"`
		References struct {
			CheckMethod string `xml:"CheckMethod,attr"`
			Reference   []struct {
				FileRef    string `xml:"FileRef,attr"`
				CheckValue string `xml:"http://www.ofdspec.org/2016 CheckValue"`
			} `xml:"http://www.ofdspec.org/2016 Reference"`
		} `xml:"http://www.ofdspec.org/2016 References"`
		StampAnnot []struct {
			PageRef  string `xml:"PageRef,attr"`
			Boundary string `xml:"Boundary,attr"`
		} `xml:"http://www.ofdspec.org/2016 StampAnnot"`
	} `xml:"http://www.ofdspec.org/2016 SignedInfo"`
	SignedValue string `xml:"http://www.ofdspec.org/2016 SignedValue"`
}

// VerifyOFD checks the signatures of the OFD package pkg: for each signature of
// Signatures.xml, every Reference's SM3 digest against its file, the files added to the
// package and removed from it, and the SES_Signature of SignedValue.dat through verifySES with
// dataHash = SM3 of the signature's Signature.xml. It returns one verdict per signature, in
// the order of Signatures.xml. It returns an error with code EInvalid when pkg is not a
// readable OFD package within the limits or has no signature, and EUnavailable when ctx ends
// first.
func VerifyOFD[V any](ctx context.Context, pkg []byte, verifySES func(der, dataHash []byte) (V, error)) ([]*OFDVerdict[V], error) {
	p, err := readOFD(ctx, pkg)
	if err != nil {
		return nil, err
	}
	var root ofdRoot
	if _, err := parseXMLPart(p, "OFD.xml", &root); err != nil {
		return nil, err
	}
	var verdicts []*OFDVerdict[V]
	own := map[string]bool{} // every signature's Signature.xml and SignedValue.dat
	protectedBy := map[string]bool{}
	for _, body := range root.DocBody {
		sigsName := resolve("", body.Signatures)
		if sigsName == "" {
			continue
		}
		var sigs ofdSignatures
		if _, err := parseXMLPart(p, sigsName, &sigs); err != nil {
			return nil, err
		}
		if len(sigs.Signature) > maxOFDSigns {
			return nil, ofdInvalid("OFD文件的签章过多（%d个）", len(sigs.Signature))
		}
		for _, s := range sigs.Signature {
			if err := ctx.Err(); err != nil {
				return nil, errOFDDeadline(err)
			}
			name := resolve(path.Dir(sigsName), s.BaseLoc)
			var sig ofdSignature
			raw, err := parseXMLPart(p, name, &sig)
			if err != nil {
				return nil, err
			}
			v := &OFDVerdict[V]{Signature: name, Provider: sig.SignedInfo.Provider.Name, Method: sig.SignedInfo.Method,
				DateTime: sig.SignedInfo.DateTime, DocID: body.DocInfo.DocID, CustomData: map[string]string{}}
			for _, c := range body.DocInfo.CustomData {
				if _, dup := v.CustomData[c.Name]; !dup && len(v.CustomData) < 64 {
					v.CustomData[c.Name] = c.Value
				}
			}
			own[name] = true
			if len(sig.SignedInfo.StampAnnot) > 0 {
				v.PageRef = sig.SignedInfo.StampAnnot[0].PageRef
				if f := strings.Fields(sig.SignedInfo.StampAnnot[0].Boundary); len(f) == 4 {
					for i := range f {
						v.Boundary[i], _ = strconv.ParseFloat(f[i], 64)
					}
				}
			}
			if m := sig.SignedInfo.Method; m != OFDSignatureMethod {
				v.Problems = append(v.Problems, "签名算法不是SM2（"+m+"）")
			}
			if cm := strings.TrimSpace(sig.SignedInfo.References.CheckMethod); cm != OFDCheckMethod && !strings.EqualFold(cm, "sm3") {
				v.Problems = append(v.Problems, "摘要算法不是SM3（"+cm+"）")
			}
			seen := map[string]bool{}
			for _, ref := range sig.SignedInfo.References.Reference {
				file := resolve("", "/"+strings.TrimPrefix(strings.TrimSpace(ref.FileRef), "/"))
				if file == "" || seen[file] {
					v.Problems = append(v.Problems, "签章引用了非法或重复的文件："+ref.FileRef)
					continue
				}
				seen[file] = true
				protectedBy[file] = true
				v.References++
				data, ok := p.get(file)
				if !ok {
					v.Missing = append(v.Missing, file)
					continue
				}
				want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(ref.CheckValue))
				sum := sm3.Sum(data)
				if err != nil || !bytes.Equal(want, sum[:]) {
					v.Changed = append(v.Changed, file)
				}
			}
			dataHash := sm3.Sum(raw)
			v.DataHash = dataHash[:]
			v.SignedValue = resolve(path.Dir(name), sig.SignedValue)
			own[v.SignedValue] = true
			der, ok := p.get(v.SignedValue)
			switch {
			case v.SignedValue == "" || !ok:
				v.SESErr = errors.New("no SignedValue")
				v.Problems = append(v.Problems, "缺少签名值文件（SignedValue）")
			default:
				v.SES, v.SESErr = verifySES(der, v.DataHash)
				if v.SESErr != nil {
					v.Problems = append(v.Problems, "电子签章验证失败："+certseal.ErrorMessage(v.SESErr))
				}
			}
			verdicts = append(verdicts, v)
		}
	}
	if len(verdicts) == 0 {
		return nil, ofdInvalid("OFD文件没有签章")
	}
	var added []string
	for _, f := range p.files {
		if !own[f.name] && !protectedBy[f.name] {
			added = append(added, f.name)
		}
	}
	for _, v := range verdicts {
		v.Added = added
		for _, n := range v.Changed {
			v.Problems = append(v.Problems, "文件已被修改："+n)
		}
		for _, n := range v.Missing {
			v.Problems = append(v.Problems, "文件已被删除："+n)
		}
		for _, n := range added {
			v.Problems = append(v.Problems, "签章后添加了文件："+n)
		}
	}
	return verdicts, nil
}

// flateWriters recycles the deflate writers of the new ZIP entries (a new one costs about a
// megabyte of tables).
var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(io.Discard, flate.BestSpeed) // the level is valid
	return w
}}

// pooledFlate is a ZIP compressor whose Close returns the writer to the pool.
type pooledFlate struct{ *flate.Writer }

func (p pooledFlate) Close() error {
	err := p.Writer.Close()
	flateWriters.Put(p.Writer)
	return err
}

func newPooledFlate(out io.Writer) (io.WriteCloser, error) {
	w := flateWriters.Get().(*flate.Writer)
	w.Reset(out)
	return pooledFlate{w}, nil
}
