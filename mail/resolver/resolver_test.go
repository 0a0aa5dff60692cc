package resolver_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lightr-mail/lightr/mail/resolver"
)

func TestNew_Servers(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "resolv.conf")
	content := "search example.net\nnameserver 127.0.0.53\nnameserver ::1\noptions edns0\n"
	if err := os.WriteFile(conf, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.conf")
	if err := os.WriteFile(empty, []byte("search example.net\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		opts    resolver.Options
		want    []string
		wantErr error
	}{
		{"HostPort", resolver.Options{Server: "127.0.0.1:5353"}, []string{"127.0.0.1:5353"}, nil},
		{"BareIP", resolver.Options{Server: "127.0.0.1"}, []string{"127.0.0.1:53"}, nil},
		{"IPv6", resolver.Options{Server: "[::1]:5353"}, []string{"[::1]:5353"}, nil},
		{"BareIPv6", resolver.Options{Server: "::1"}, []string{"[::1]:53"}, nil},
		{"HostName", resolver.Options{Server: "dns.example.com:53"}, nil, resolver.ErrBadServer},
		{"System", resolver.Options{ResolvConf: conf}, []string{"127.0.0.53:53", "[::1]:53"}, nil},
		{"SystemMissing", resolver.Options{ResolvConf: filepath.Join(dir, "none")}, nil, os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := resolver.New(tt.opts)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("New error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, r.Servers()); diff != "" {
				t.Errorf("Servers (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("SystemWithoutNameserver", func(t *testing.T) {
		if _, err := resolver.New(resolver.Options{ResolvConf: empty}); err == nil {
			t.Error("New succeeded with no nameserver")
		}
	})
}
