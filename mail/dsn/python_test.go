package dsn_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// python is Debian's python3, whose standard library has the email
// package the test reads the notification with.
const python = "/usr/bin/python3"

// pythonView is what testdata/check_dsn.py reports.
type pythonView struct {
	Multipart     bool                `json:"multipart"`
	Type          string              `json:"type"`
	ReportType    string              `json:"report_type"`
	Subject       string              `json:"subject"`
	AutoSubmitted string              `json:"auto_submitted"`
	Defects       []string            `json:"defects"`
	Parts         []string            `json:"parts"`
	Text          string              `json:"text"`
	Groups        []map[string]string `json:"groups"`
}

func TestBuild_Python(t *testing.T) {
	if _, err := exec.LookPath(python); err != nil {
		t.Skipf("%s not available: %v", python, err)
	}
	r := failedReport()
	r.Recipients[0].FinalRecipient = "jürgen@bücher.test"
	r.Recipients[0].Diagnostic = "550 no\r\nBcc: victim@evil.test"
	out := build(t, newBuilder(), r)

	cmd := exec.Command(python, "testdata/check_dsn.py")
	cmd.Stdin = bytes.NewReader(out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	js, err := cmd.Output()
	if err != nil {
		t.Fatalf("check_dsn.py: %v: %s", err, stderr.String())
	}
	var got pythonView
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatalf("decode %s: %v", js, err)
	}

	if !got.Multipart || got.Type != "multipart/report" || got.ReportType != "delivery-status" {
		t.Errorf("top level: multipart %v, %s, report-type %q", got.Multipart, got.Type, got.ReportType)
	}
	if got.Subject != "Undelivered Mail Returned to Sender" || got.AutoSubmitted != "auto-replied" {
		t.Errorf("Subject %q, Auto-Submitted %q", got.Subject, got.AutoSubmitted)
	}
	if len(got.Defects) > 0 {
		t.Errorf("defects: %v", got.Defects)
	}
	wantParts := []string{"text/plain", "message/delivery-status", "text/rfc822-headers"}
	if diff := cmp.Diff(wantParts, got.Parts); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	if !strings.Contains(got.Text, "<jürgen@bücher.test>: failed (5.1.1)") ||
		!strings.Contains(got.Text, "Subject: Résumé ✓") {
		t.Errorf("text part:\n%s", got.Text)
	}
	want := []map[string]string{
		{
			"Reporting-MTA":        "dns; mx.lightr.test",
			"Original-Envelope-Id": "env-7",
			"Arrival-Date":         "Wed, 04 Mar 2026 04:06:07 +0000",
		},
		{
			"Final-Recipient":    `utf-8; j\x{FC}rgen@b\x{FC}cher.test`,
			"Original-Recipient": "rfc822; bob@alias.test",
			"Action":             "failed",
			"Status":             "5.1.1",
			"Remote-MTA":         "dns; mx1.remote.test",
			"Diagnostic-Code":    "smtp; 550 no Bcc: victim@evil.test",
			"Last-Attempt-Date":  "Wed, 04 Mar 2026 05:05:07 +0000",
		},
	}
	if diff := cmp.Diff(want, got.Groups); diff != "" {
		t.Errorf("delivery-status groups (-want +got):\n%s", diff)
	}
}
