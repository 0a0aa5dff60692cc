// Package graph is Lightr's GraphQL layer: gqlgen's executable schema over
// the Ent client, with thin resolvers that call the services in mail/ and
// server/.
package graph

//go:generate go -C .. tool gqlgen generate
//go:generate go run gqlpatch.go
