package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// KeyError reports a problem with the value of one configuration key.
type KeyError struct {
	// Key is the dotted key, such as "http.addr".
	Key string
	// Err describes the problem.
	Err error
}

// Error returns "config: <key>: <problem>".
func (e *KeyError) Error() string {
	return "config: " + e.Key + ": " + e.Err.Error()
}

// Unwrap returns the underlying problem.
func (e *KeyError) Unwrap() error {
	return e.Err
}

// checks maps the rules of the check tag to their functions. Every function
// receives the field's value.
var checks = map[string]func(v reflect.Value) error{
	"nonempty": checkNonEmpty,
	"positive": checkPositive,
	"hostport": checkHostPort,
	"hostname": checkHostname,
	"optional_hostport": func(v reflect.Value) error {
		if v.String() == "" {
			return nil
		}
		return checkHostPort(v)
	},
	"cidr":      checkCIDRs,
	"durations": checkDurations,
}

// Validate reports every invalid value in c, each as a *KeyError naming the
// key; several problems are joined with errors.Join. Load calls it, so it is
// needed only for a Config built or changed in code.
func (c *Config) Validate() error {
	s, err := loadSchema()
	if err != nil {
		return err
	}
	var errs []error
	root := reflect.ValueOf(c).Elem()
	for _, e := range s.entries {
		if e.section {
			continue
		}
		if err := e.validate(root.FieldByIndex(e.index)); err != nil {
			errs = append(errs, &KeyError{Key: e.key, Err: err})
		}
	}

	// Rules that involve more than one key.
	if c.JWT.DefaultTTL > c.JWT.MaxTTL && c.JWT.MaxTTL > 0 {
		errs = append(errs, &KeyError{
			Key: "jwt.default_ttl",
			Err: fmt.Errorf("%s exceeds jwt.max_ttl (%s)",
				formatDuration(c.JWT.DefaultTTL), formatDuration(c.JWT.MaxTTL)),
		})
	}
	return errors.Join(errs...)
}

// validate applies the oneof and check rules of e to v.
func (e *entry) validate(v reflect.Value) error {
	if len(e.oneof) > 0 {
		got := fmt.Sprint(v.Interface())
		found := false
		for _, o := range e.oneof {
			found = found || o == got
		}
		if !found {
			return fmt.Errorf("must be one of %s, not %q", strings.Join(e.oneof, ", "), got)
		}
	}
	for _, name := range e.checks {
		if err := checks[name](v); err != nil {
			return err
		}
	}
	return nil
}

func checkNonEmpty(v reflect.Value) error {
	if v.IsZero() {
		return errors.New("must not be empty")
	}
	return nil
}

func checkPositive(v reflect.Value) error {
	positive := true
	switch {
	case v.CanInt():
		positive = v.Int() > 0
	case v.CanUint():
		positive = v.Uint() > 0
	case v.CanFloat():
		positive = v.Float() > 0
	}
	if !positive {
		return fmt.Errorf("must be greater than zero, not %v", display(v.Interface()))
	}
	return nil
}

// checkHostPort accepts a listen address such as "127.0.0.1:8080" or
// ":2525". Ports must be numeric so that a typo is not taken for a
// service name.
func checkHostPort(v reflect.Value) error {
	s := v.String()
	if s == "" {
		return errors.New("missing address")
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return errors.New(ae.Err)
		}
		return err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// checkCIDRs accepts a list of networks in CIDR notation, such as
// "10.0.0.0/8" or "2001:db8::/32".
func checkCIDRs(v reflect.Value) error {
	for i := range v.Len() {
		n := v.Index(i).String()
		if _, err := netip.ParsePrefix(n); err != nil {
			return fmt.Errorf("%q is not a network in CIDR notation (like 10.0.0.0/8)", n)
		}
	}
	return nil
}

// checkDurations accepts a non-empty list of positive durations.
func checkDurations(v reflect.Value) error {
	if v.Len() == 0 {
		return errors.New("at least one delay is required")
	}
	for i := range v.Len() {
		if d := time.Duration(v.Index(i).Int()); d <= 0 {
			return fmt.Errorf("%s is not a positive duration", d)
		}
	}
	return nil
}

// checkHostname accepts an empty value or a DNS host name made of letters,
// digits and hyphens (RFC 1123 §2.1), as used in SMTP greetings and DKIM
// selectors.
func checkHostname(v reflect.Value) error {
	s := v.String()
	if s == "" {
		return nil
	}
	if len(s) > 253 {
		return errors.New("host name longer than 253 characters")
	}
	for label := range strings.SplitSeq(s, ".") {
		if !validLabel(label) {
			return fmt.Errorf("%q is not a valid host name", s)
		}
	}
	return nil
}

// validLabel reports whether l is a DNS label of 1 to 63 letters, digits
// and inner hyphens.
func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, r := range l {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-'
		if !ok {
			return false
		}
	}
	return true
}
