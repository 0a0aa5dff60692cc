package auth

import "log/slog"

// redacted replaces a secret wherever it would otherwise be printed.
const redacted = "[redacted]"

// Secret is a string that must never reach a log, such as an API key or a
// password held in configuration. It redacts itself in slog output and when
// formatted with the fmt verbs; call [Secret.Reveal] to get the value.
//
// Redaction is a guard against accidents, not a security boundary:
// converting a Secret back to a string with string(s) still exposes it.
type Secret string

// Reveal returns the secret value. Call it only where the value is used,
// never to build a log line or an error message.
func (s Secret) Reveal() string { return string(s) }

// LogValue implements [slog.LogValuer] and always returns "[redacted]".
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// String implements [fmt.Stringer] and always returns "[redacted]", so the
// %v, %s and %q verbs do not print the secret.
func (Secret) String() string { return redacted }

// GoString implements [fmt.GoStringer] and always returns "[redacted]", so
// the %#v verb does not print the secret.
func (Secret) GoString() string { return redacted }
