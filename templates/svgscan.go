package templates

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/store"
)

// The blank form's scan (issue 21): the picture of the pre-printed form a template is designed
// over, shown under the designer's boxes and under the overlay preview. It is stored with the
// template: content-addressed in BucketScans (by SHA-256 of the re-encoded image), and each
// template version that was designed over one names it in BucketScanOf, written in the upload's
// own transaction. Certificates never draw it.

// Buckets of the scans.
const (
	// BucketScans holds the scans: the SHA-256 (hex) of the stored image -> storedScan.
	BucketScans store.Bucket = "tpl_scans"
	// BucketScanOf links a template version to its scan: the version's key (as in
	// BucketVersions) -> the scan's SHA-256 (hex).
	BucketScanOf store.Bucket = "tpl_scan_of"
)

// Limits of a scan upload. A4 at 300 dpi is 2480 × 3508 pixels; the stored image must also fit
// one commit of the cluster's database (etcd's 1.5 MiB request limit).
const (
	MaxScanUpload = 8 << 20 // bytes of the uploaded file
	MaxScanSide   = 4000    // pixels, each side
	MaxScanPixels = 12e6    // pixels in all (the decoded image takes 4 bytes each)
	MaxScanStored = 1 << 20 // bytes of the re-encoded image
)

// Scan is a blank form's picture as stored: PNG or JPEG, re-encoded by ParseScan.
type Scan struct {
	SHA256 string    `json:"sha256"`
	MIME   string    `json:"mime"` // image/png or image/jpeg
	Width  int       `json:"width_px"`
	Height int       `json:"height_px"`
	Data   []byte    `json:"data,omitempty"`
	At     time.Time `json:"created_at,omitzero"`
	By     string    `json:"created_by,omitempty"`
}

// ParseScan checks an uploaded picture of a blank form and re-encodes it, so that what is
// stored and later embedded in SVG previews is exactly one plain image of the kind it claims to
// be (no metadata, no trailing data, no polyglot). It reads the header first and refuses, before
// decoding anything, a file over MaxScanUpload bytes, a format other than PNG or JPEG, or a
// picture over MaxScanSide pixels a side or MaxScanPixels in all; the decoders are linear in
// the input. A PNG is stored as PNG, a JPEG as JPEG (quality 85); a result over MaxScanStored
// bytes is encoded as JPEG at quality 75, and refused if still too large. It returns the Scan
// (with Data and SHA256) or a *certseal.Error: EInvalid or ETooLarge, with a Chinese message.
func ParseScan(data []byte) (Scan, error) {
	if len(data) == 0 {
		return Scan{}, certseal.Errorf(certseal.EInvalid, "没有上传空白证照的扫描图片")
	}
	if len(data) > MaxScanUpload {
		return Scan{}, certseal.Errorf(certseal.ETooLarge, "扫描图片超过 %d MB 上限，请降低分辨率（150 dpi 已足够）", MaxScanUpload>>20)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "png" && format != "jpeg") {
		return Scan{}, certseal.Errorf(certseal.EInvalid, "扫描图片应为 PNG 或 JPEG 格式（PDF 请先另存为图片）").WithDetail("field", "scan")
	}
	if cfg.Width < 50 || cfg.Height < 50 {
		return Scan{}, certseal.Errorf(certseal.EInvalid, "扫描图片太小（%d×%d 像素），至少 50×50 像素", cfg.Width, cfg.Height).WithDetail("field", "scan")
	}
	if cfg.Width > MaxScanSide || cfg.Height > MaxScanSide || float64(cfg.Width)*float64(cfg.Height) > MaxScanPixels {
		return Scan{}, certseal.Errorf(certseal.ETooLarge, "扫描图片过大（%d×%d 像素），每边最多 %d 像素，请降低分辨率", cfg.Width, cfg.Height, MaxScanSide).WithDetail("field", "scan")
	}
	var img image.Image
	if format == "png" {
		img, err = png.Decode(bytes.NewReader(data))
	} else {
		img, err = jpeg.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return Scan{}, certseal.Errorf(certseal.EInvalid, "扫描图片已损坏，无法读取：%v", err).WithDetail("field", "scan")
	}
	var out bytes.Buffer
	mime := "image/" + format
	if format == "png" {
		err = (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, img)
	} else {
		err = jpeg.Encode(&out, img, &jpeg.Options{Quality: 85})
	}
	if err == nil && out.Len() > MaxScanStored {
		out.Reset()
		mime = "image/jpeg"
		err = jpeg.Encode(&out, img, &jpeg.Options{Quality: 75})
	}
	if err != nil {
		return Scan{}, certseal.Errorf(certseal.EInternal, "扫描图片编码失败").WithDetail("reason", err.Error())
	}
	if out.Len() > MaxScanStored {
		return Scan{}, certseal.Errorf(certseal.ETooLarge, "扫描图片压缩后仍超过 %d KB，请降低分辨率", MaxScanStored>>10).WithDetail("field", "scan")
	}
	sum := sha256.Sum256(out.Bytes())
	b := img.Bounds()
	return Scan{SHA256: hex.EncodeToString(sum[:]), MIME: mime, Width: b.Dx(), Height: b.Dy(), Data: out.Bytes()}, nil
}

// PutScan parses the uploaded picture (ParseScan) and stores it, with an audit event, unless
// the same picture is stored already. It returns the stored Scan without Data, or ParseScan's
// error, or the database's.
func (s *Store) PutScan(ctx context.Context, actor certseal.Actor, data []byte) (Scan, error) {
	sc, err := ParseScan(data)
	if err != nil {
		return Scan{}, err
	}
	now := s.clock.Now()
	sc.At, sc.By = now.UTC(), actor.Username
	err = s.db.Update(func(tx *store.Tx) error {
		var old Scan
		if ok, err := tx.GetJSON(BucketScans, []byte(sc.SHA256), &old); err != nil || ok {
			if ok {
				sc = old
			}
			return err
		}
		if err := tx.PutJSON(BucketScans, []byte(sc.SHA256), sc); err != nil {
			return err
		}
		return audit.Append(tx, now, actor, "template.scan.upload", "template_scan/"+sc.SHA256,
			map[string]any{"sha256": sc.SHA256, "mime": sc.MIME, "width_px": sc.Width, "height_px": sc.Height, "bytes": len(sc.Data)})
	})
	sc.Data = nil
	return sc, err
}

// Scan returns the stored scan with SHA-256 sum (hex), with its Data, or an *certseal.Error
// with code ENotFound.
func (s *Store) Scan(ctx context.Context, sum string) (Scan, error) {
	var sc Scan
	err := s.db.View(func(tx *store.Tx) error {
		ok, err := tx.GetJSON(BucketScans, []byte(sum), &sc)
		if err == nil && !ok {
			err = certseal.Errorf(certseal.ENotFound, "没有这张空白证照扫描图片").WithDetail("sha256", sum)
		}
		return err
	})
	return sc, err
}

// ScanOf returns the scan template id's version was designed over (version 0: the latest
// version that has one), with its Data, or an *certseal.Error with code ENotFound when it has
// none.
func (s *Store) ScanOf(ctx context.Context, id string, version int) (Scan, error) {
	var sum string
	err := s.db.View(func(tx *store.Tx) error {
		if version > 0 {
			v := tx.Get(BucketScanOf, versionKey(id, version))
			sum = string(v)
			return nil
		}
		return tx.ScanReverse(BucketScanOf, store.Prefix(id), nil, func(_, v []byte) error {
			sum = string(v)
			return store.ErrStop
		})
	})
	if err != nil {
		return Scan{}, err
	}
	if sum == "" {
		return Scan{}, certseal.Errorf(certseal.ENotFound, "模板“%s”没有空白证照扫描图片", id)
	}
	return s.Scan(ctx, sum)
}

// UploadWithScan is Upload for a template designed over a stored scan (PutScan): the new
// version names the scan, in the same transaction. An empty scan is Upload. Besides Upload's
// errors it returns ENotFound when no scan has that SHA-256.
func (s *Store) UploadWithScan(ctx context.Context, actor certseal.Actor, data []byte, scan string) (Record, error) {
	return s.upload(ctx, actor, data, scan)
}

// linkScanTx records in tx that template id's version was designed over the scan sum.
func linkScanTx(tx *store.Tx, id string, version int, sum string) error {
	if !tx.Has(BucketScans, []byte(sum)) {
		return certseal.Errorf(certseal.ENotFound, "没有这张空白证照扫描图片，请重新上传").WithDetail("field", "scan")
	}
	if err := tx.Put(BucketScanOf, versionKey(id, version), []byte(sum)); err != nil {
		return fmt.Errorf("link scan: %w", err)
	}
	return nil
}
