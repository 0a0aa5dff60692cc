package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"entgo.io/ent/privacy"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/schema"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/submit"
	"github.com/lightr-mail/lightr/server/access"
)

// Error codes in extensions.code.
const (
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	CodeNotFound        = "NOT_FOUND"
	CodeBadUserInput    = "BAD_USER_INPUT"
	CodeInternal        = "INTERNAL"
	CodeDepthLimit      = "DEPTH_LIMIT_EXCEEDED"
	CodeCanceled        = "CANCELED"
)

// classify maps an error from the layers below to a code and a message
// that is safe to show. internal is true when only a generic message may
// be shown and the error must be logged.
func classify(err error) (code, msg string, internal bool) {
	var (
		inputErr *directory.InputError
		scopeErr *access.ScopeError
		ttlErr   *access.TTLError
	)
	switch {
	case errors.Is(err, access.ErrUnauthenticated):
		return CodeUnauthenticated, "authentication required", false
	case errors.Is(err, schema.ErrCrossTenantLink), ent.IsNotFound(err):
		// A row of another organization is reported exactly like a row
		// that does not exist, so ids reveal nothing across tenants.
		return CodeNotFound, "not found", false
	case errors.Is(err, access.ErrForbidden), errors.Is(err, submit.ErrSender):
		return CodeForbidden, err.Error(), false
	case errors.Is(err, privacy.Deny):
		return CodeForbidden, "forbidden", false
	case errors.As(err, &inputErr):
		return CodeBadUserInput, inputErr.Error(), false
	case errors.As(err, &scopeErr), errors.As(err, &ttlErr):
		return CodeBadUserInput, err.Error(), false
	case errors.Is(err, directory.ErrNotEmpty), errors.Is(err, directory.ErrLimit):
		return CodeBadUserInput, err.Error(), false
	case ent.IsValidationError(err):
		var ve *ent.ValidationError
		errors.As(err, &ve)
		return CodeBadUserInput, lowerCamel(ve.Name) + ": invalid value", false
	case ent.IsConstraintError(err):
		return CodeBadUserInput, "conflicts with an existing object (a name or address already in use)", false
	}
	return CodeInternal, "internal error", true
}

// errorPresenter gives every GraphQL error an extensions.code and keeps
// internal details out of responses; they go to the log with the request
// id the client also sees.
func errorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		if gqlErr.Extensions != nil && gqlErr.Extensions["code"] != nil {
			return gqlErr // from gqlgen itself: parse, validation, complexity
		}
		var cause *gqlerror.Error
		if errors.As(err, &cause) {
			if cause.Err == nil {
				// gqlgen's own errors (a body that does not decode, a
				// disabled introspection, bad variables) are about the
				// request, and their messages are safe to show.
				gqlErr.Extensions = map[string]any{"code": CodeBadUserInput}
				return gqlErr
			}
			err = cause.Err
		}
		code, msg, internal := classify(err)
		id := requestID(ctx)
		switch {
		case internal && ctx.Err() != nil:
			// The client went away or the request timed out; that is
			// the client's doing, not a fault of the server.
			log.InfoContext(ctx, "graphql request ended early", "request_id", id,
				"path", gqlErr.Path.String(), "err", err)
			msg = fmt.Sprintf("request canceled (request %s)", id)
			code = CodeCanceled
		case internal:
			log.ErrorContext(ctx, "graphql resolver failed", "request_id", id,
				"path", gqlErr.Path.String(), "err", err)
			msg = fmt.Sprintf("internal error (request %s)", id)
		}
		gqlErr.Message = msg
		gqlErr.Extensions = map[string]any{"code": code}
		return gqlErr
	}
}

// recoverFunc turns a resolver panic into an INTERNAL error and logs the
// stack.
func recoverFunc(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "graphql resolver panicked", "request_id", requestID(ctx),
			"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return errors.New("internal error")
	}
}

// lowerCamel turns an Ent field name (dkim_selector) into its GraphQL
// name (dkimSelector).
func lowerCamel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}
