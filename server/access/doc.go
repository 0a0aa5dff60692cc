// Package access turns credentials into viewers and mints new ones.
//
// One Authenticator serves every surface: a bearer JWT or API key on HTTP,
// the same in a WebSocket connection_init, and later SMTP and IMAP logins.
// Whatever the credential, the result is a viewer.Viewer that the data
// layer's privacy rules enforce.
package access
