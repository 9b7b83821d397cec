package keycloak

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	masterRealm = "master"
	// refreshLifetime is Keycloak's default SSO session idle timeout, which bounds a
	// refresh token.
	refreshLifetime = 30 * time.Minute
	// invalidClient is Keycloak's description for every client authentication failure.
	invalidClient = "Invalid client or Invalid client credentials"
)

// grant is what an issued token stands for.
type grant struct {
	realm    string
	clientID string
	expires  time.Time
}

// token serves the OpenID Connect token endpoint: password, client_credentials and
// refresh_token grants. Access tokens are opaque random strings, not JWTs: admin clients
// never decode them.
func (s *Server) token(rq *request) response {
	rlm := s.realm(rq.params["realm"])
	if rlm == nil {
		return genericError(http.StatusNotFound, "Realm does not exist")
	}
	form := rq.form
	grantType := form.Get("grant_type")
	if grantType == "" {
		return oauthError(http.StatusBadRequest, "invalid_request", "Missing form parameter: grant_type")
	}
	c, resp, authenticated := rlm.authenticateClient(rq)
	if !authenticated {
		return resp
	}
	switch grantType {
	case "password":
		if !boolField(c.rep, "directAccessGrantsEnabled") {
			return oauthError(http.StatusBadRequest, "unauthorized_client", "Client not allowed for direct access grants")
		}
		password, known := rlm.users[form.Get("username")]
		if !known || password == "" || password != form.Get("password") {
			return oauthError(http.StatusUnauthorized, "invalid_grant", "Invalid user credentials")
		}
	case "client_credentials":
		if boolField(c.rep, "publicClient") {
			return oauthError(http.StatusUnauthorized, "unauthorized_client", "Public client not allowed to retrieve service account")
		}
		if !boolField(c.rep, "serviceAccountsEnabled") {
			return oauthError(http.StatusUnauthorized, "unauthorized_client", "Client not enabled to retrieve service account")
		}
	case "refresh_token":
		g, known := s.refresh[form.Get("refresh_token")]
		switch {
		case !known || g.realm != rlm.name() || g.clientID != c.clientID():
			return oauthError(http.StatusBadRequest, "invalid_grant", "Invalid refresh token")
		case !s.clock.Now().Before(g.expires):
			return oauthError(http.StatusBadRequest, "invalid_grant", "Token is not active")
		}
	default:
		return oauthError(http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant_type")
	}
	return ok(s.issue(rlm.name(), c.clientID()))
}

// authenticateClient finds the client of a token request from HTTP Basic credentials
// or the client_id / client_secret form fields, and checks the secret of a confidential
// client.
func (rlm *realm) authenticateClient(rq *request) (*client, response, bool) {
	id, secret := rq.form.Get("client_id"), rq.form.Get("client_secret")
	if user, pass, basic := rq.http.BasicAuth(); basic {
		// Keycloak form-decodes Basic credentials, as RFC 6749 section 2.3.1 asks.
		id, secret = formDecode(user), formDecode(pass)
	}
	c := rlm.clientByClientID(id)
	if c == nil {
		return nil, oauthError(http.StatusUnauthorized, "invalid_client", invalidClient), false
	}
	if !boolField(c.rep, "publicClient") && (c.secret == "" || secret != c.secret) {
		return nil, oauthError(http.StatusUnauthorized, "unauthorized_client", invalidClient), false
	}
	return c, response{}, true
}

func formDecode(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// issue creates an access and a refresh token.
func (s *Server) issue(realmName, clientID string) map[string]any {
	now := s.clock.Now()
	access, refresh := rand.Text(), rand.Text()
	s.access[access] = grant{realm: realmName, clientID: clientID, expires: now.Add(s.tokenLifetime)}
	s.refresh[refresh] = grant{realm: realmName, clientID: clientID, expires: now.Add(refreshLifetime)}
	return map[string]any{
		"access_token":       access,
		"expires_in":         int(s.tokenLifetime / time.Second),
		"refresh_expires_in": int(refreshLifetime / time.Second),
		"refresh_token":      refresh,
		"token_type":         "Bearer",
		"not-before-policy":  0,
		"session_state":      newID(),
		"scope":              "profile email",
	}
}

// authorize checks the bearer token of an admin request: it must be a live token of the
// master realm (every seeded master user and service account is an administrator).
func (s *Server) authorize(r *http.Request) (response, bool) {
	tok, isBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	g, known := s.access[tok]
	if !isBearer || !known || !s.clock.Now().Before(g.expires) {
		return genericError(http.StatusUnauthorized, "HTTP 401 Unauthorized"), false
	}
	if g.realm != masterRealm {
		return genericError(http.StatusForbidden, "HTTP 403 Forbidden"), false
	}
	return response{}, true
}
