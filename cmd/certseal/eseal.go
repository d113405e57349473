package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"certseal"
	"certseal/certs"
	"certseal/cmd/app"
	"certseal/seals"

	"github.com/emmansun/gmsm/sm3"
)

// cmdESeal is `certseal eseal verify FILE`: the check of VerifySES (or VerifyESeal for a bare
// SESeal, or the whole of certs.VerifyOFD for an OFD package) against the database's SM2 CA,
// seal and certificate records, from the command line.
func cmdESeal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "usage: certseal eseal verify [-data DIR] [-doc FILE | -sm3 HEX] FILE")
		return errUsage
	}
	var c app.Config
	fs := newFlags("eseal verify", stderr, &c)
	docFile := fs.String("doc", "", "the signed data: its SM3 digest must be the signature's dataHash")
	sm3Hex := fs.String("sm3", "", "the SM3 digest of the signed data, 64 hexadecimal digits (instead of -doc)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 || (*docFile != "" && *sm3Hex != "") {
		fmt.Fprintln(stderr, "usage: certseal eseal verify [-data DIR] [-doc FILE | -sm3 HEX] FILE (a SES_Signature or a SESeal, DER; or an OFD file)")
		return errUsage
	}
	der, err := readLimited(fs.Arg(0), seals.MaxOFDSize)
	if err != nil {
		return err
	}
	if certs.IsZIP(der) {
		return verifyOFDFile(ctx, c, der, stdout)
	}
	if len(der) > seals.MaxSESBytes {
		return fmt.Errorf("电子签章数据不能超过 %d MB", seals.MaxSESBytes>>20)
	}
	var hash []byte
	switch {
	case *docFile != "":
		f, err := os.Open(*docFile)
		if err != nil {
			return err
		}
		h := sm3.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return err
		}
		hash = h.Sum(nil)
	case *sm3Hex != "":
		hash, err = hex.DecodeString(strings.TrimSpace(*sm3Hex))
		if err != nil || len(hash) != 32 {
			return errors.New("-sm3 应为 64 位十六进制的 SM3 摘要")
		}
	}
	a, err := app.Open(c)
	if err != nil {
		return err
	}
	defer a.Close()
	var v *seals.SESVerdict
	kind := "电子签章（SES_Signature）"
	if p, perr := seals.ParseSES(der); perr == nil || !isESeal(der) {
		unchecked := hash == nil
		if unchecked && perr == nil {
			hash = p.DataHash // nothing to compare with: every other check still runs
		}
		if v, err = a.Seals.VerifySES(ctx, der, hash); err != nil {
			return err
		}
		printVerdict(stdout, kind, v)
		if unchecked && v.OK {
			fmt.Fprintln(stdout, "注意：未给出原文（-doc 或 -sm3），没有核对原文杂凑值")
		}
	} else {
		kind = "电子印章（SESeal）"
		if v, err = a.Seals.VerifyESeal(ctx, der); err != nil {
			return err
		}
		printVerdict(stdout, kind, v)
	}
	if !v.OK {
		return errors.New(v.Code)
	}
	return nil
}

// isESeal reports whether der parses as a SESeal.
func isESeal(der []byte) bool {
	_, err := seals.ParseESeal(der)
	return err == nil
}

func printVerdict(w io.Writer, kind string, v *seals.SESVerdict) {
	status := "无效"
	if v.OK {
		status = "有效"
	}
	fmt.Fprintf(w, "%s：%s（%s）\n%s\n", kind, status, v.Code, v.Message)
	if v.SealID != "" {
		fmt.Fprintf(w, "印章：%s %s", v.SealID, v.SealName)
		if v.SealCode != "" {
			fmt.Fprintf(w, "（印章编码 %s）", v.SealCode)
		}
		if !v.Registered {
			fmt.Fprint(w, "（不是本系统登记的 SM2 印章）")
		}
		fmt.Fprintln(w)
	}
	if !v.SignedAt.IsZero() {
		fmt.Fprintf(w, "时间：%s\n", v.SignedAt.In(certseal.China).Format("2006-01-02 15:04:05"))
	}
}

// verifyOFDFile checks an OFD package as POST /api/v1/verify does and prints the verdict, the
// reasons, the seals and the certificate; a verdict other than valid is an error (its code).
func verifyOFDFile(ctx context.Context, c app.Config, pkg []byte, stdout io.Writer) error {
	a, err := app.Open(c)
	if err != nil {
		return err
	}
	defer a.Close()
	v, err := a.Certs.VerifyOFD(ctx, pkg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "OFD 电子证照：%s（%s）\n", v.Label, v.Verdict)
	for _, r := range v.Reasons {
		fmt.Fprintln(stdout, r)
	}
	for _, ch := range v.Signatures {
		fmt.Fprintf(stdout, "印章：%s %s", ch.SealID, ch.SealName)
		if !ch.SignedAt.IsZero() {
			fmt.Fprintf(stdout, "，签章时间 %s", ch.SignedAt.In(certseal.China).Format("2006-01-02 15:04:05"))
		}
		fmt.Fprintln(stdout)
	}
	if pv := v.Certificate; pv != nil {
		fmt.Fprintf(stdout, "证照：%s %s（%s），证照标识 %s\n", pv.Name, pv.LicenceNumber, pv.StatusLabel, pv.Identifier)
	}
	if v.Verdict != certs.VerdictValid {
		return errors.New(v.Verdict)
	}
	return nil
}
