package keycloak

import (
	"net/http/httptest"
	"testing"
)

// NewTestServer starts a simulator on a loopback httptest server that is closed when the
// test ends. It returns the simulator and the server's root URL; with BasePathRHSSO the
// API lives under that URL plus "/auth".
func NewTestServer(t testing.TB, opts ...Option) (*Server, string) {
	t.Helper()
	s := New(opts...)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs.URL
}
