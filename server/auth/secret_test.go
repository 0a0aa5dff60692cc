package auth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretRedacted(t *testing.T) {
	const value = "lr_topsecretvalue"
	s := Secret(value)
	if s.Reveal() != value {
		t.Errorf("Reveal() = %q, want %q", s.Reveal(), value)
	}

	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("key", "secret", s, "group", slog.GroupValue(slog.Any("nested", s)))
	slog.New(slog.NewTextHandler(&buf, nil)).Info("key", "secret", s)

	config := struct{ APIKey Secret }{s}
	outputs := []string{
		buf.String(),
		fmt.Sprint(s),
		fmt.Sprintf("%s %v %q %+v %#v", s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v", config, config, config),
	}
	for _, out := range outputs {
		if strings.Contains(out, value) {
			t.Errorf("output leaks the secret: %s", out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("output does not say [redacted]: %s", out)
		}
	}
}

func TestKeySetRedacted(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := NewKeySet(priv)
	if err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("loaded", "keys", ks)
	outputs := []string{
		buf.String(),
		fmt.Sprintf("%v %+v %#v %s", ks, ks, ks, ks),
	}
	for _, out := range outputs {
		// %v would print the key as decimal bytes.
		decimal := fmt.Sprint([]byte(priv[:8])) //nolint:staticcheck // decimal bytes, as %v prints them
		if strings.Contains(out, strings.Trim(decimal, "[]")) {
			t.Errorf("output leaks key bytes: %s", out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("output does not say [redacted]: %s", out)
		}
	}
}
