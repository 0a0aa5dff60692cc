// Package config loads, validates and documents the configuration of the
// lightr binary.
//
// The configuration is one [Config] value. Its struct fields are the single
// source of truth: the key names (mapstructure tags), the defaults
// ([Default]), the one-line documentation (doc tags) written by
// [WriteTemplate], the validation rules (oneof and check tags), which keys
// hold secrets (secret tag) and which hold paths (path tag) are all derived
// from it by reflection. Adding a key means adding a field and its default.
//
// [Load] reads the configuration from four sources, highest precedence first:
//
//   - command-line flags that the user changed; a flag is bound to a key when
//     its name is the key with dots (and optionally underscores) replaced by
//     '-', such as --http-addr for http.addr, or when it carries the
//     [FlagAnnotation] annotation naming the key;
//   - environment variables: LIGHTR_ followed by the upper-case key with dots
//     replaced by '_', such as LIGHTR_HTTP_ADDR for http.addr;
//   - the YAML file lightr.yaml, given explicitly or found on a search path;
//   - the defaults from [Default].
//
// Unknown keys in the file and invalid values stop the load with an error
// that names the key. Secret keys are never printed: [Config.Redacted] and
// [Config.LogValue] replace them with "[redacted]", and each secret key K
// may be read from the file named by K_file (or LIGHTR_K_FILE) instead, so
// that the secret itself stays out of the YAML file and the environment.
package config
