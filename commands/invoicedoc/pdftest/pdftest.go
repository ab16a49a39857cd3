// Package pdftest reads the text of PDF documents in tests, with pdftotext
// (Debian's poppler-utils). Tests that need it are skipped when pdftotext is
// not on the PATH, unless the environment variable CI is true (CI=true or
// CI=1): there they fail, as store/redistest does for redis-server.
package pdftest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Text returns the text of a PDF document as `pdftotext -layout` extracts
// it: each page's lines with their columns kept apart by spaces, pages
// separated by form feeds. It fails the test when pdftotext cannot read the
// document.
func Text(tb testing.TB, pdf []byte) string {
	tb.Helper()
	bin := lookBinary(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-layout", "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	if err := cmd.Run(); err != nil {
		tb.Fatalf("pdftest: pdftotext: %v: %s", err, errs.String())
	}
	if errs.Len() > 0 {
		tb.Errorf("pdftest: pdftotext complained: %s", errs.String())
	}
	return out.String()
}

// lookBinary returns the path of pdftotext, or skips (fails under CI) the
// test.
func lookBinary(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err == nil {
		return bin
	}
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		tb.Fatalf("pdftest: pdftotext not found on PATH (%v); the PDF tests are mandatory when CI=true: install it (Debian: apt-get install poppler-utils)", err)
	}
	tb.Skipf("pdftest: pdftotext not found on PATH (%v); skipping the PDF text test (install poppler-utils to run it; with CI=true this is a failure)", err)
	return ""
}
